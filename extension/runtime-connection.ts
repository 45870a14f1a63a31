import type { ModelInfo, RuntimeEvent } from '../protocol/events.js';
import type { ConnectionStatus } from '../protocol/webview.js';
import { restartDelayMs, sleep } from './backoff.js';
import {
  connectCog,
  connectErrorText,
  type CogClient,
  type CogClientOptions,
} from './cog-client.js';
import { Emitter, type Disposable, type Logger } from './emitter.js';
import { describeExit, type RuntimeExit } from './runtime-exit.js';
import { listSessions, sessionState } from './runtime-tools.js';

/** Where one connection attempt goes: a runtime just started, or a configured server. */
export interface Launched {
  url: URL;
  /** A fixed bearer token (a local runtime's, or one set with Cog: Set Server Token). */
  token?: string;
  /** A token that changes (OAuth sign-in, refreshed): read before every request. */
  bearer?: () => Promise<string>;
  /** Who connects, as the server's channel shows it (see CogClientOptions.clientInfo). */
  clientInfo?: { name: string; title: string };
  /** For the log and the status tooltip: "local runtime (pid 42)", "server http://…". */
  label: string;
  pid?: number;
  /** Added to an authentication failure: what to do about it. */
  authHint?: string;
  /** A child runtime's exit; absent for a remote server. */
  exited?: Promise<RuntimeExit>;
  stop?(): Promise<void>;
}

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why it is not connected, in words; or the connected runtime's label. */
  detail?: string;
  /** The settings are wrong: nothing is retried until they change (or Restart Runtime). */
  needsSetup?: boolean;
  /** The runtime's models, once known. */
  model?: ModelInfo;
}

export interface ConnectionOptions {
  /** Starts a runtime (or names a server) for one attempt; rejects with a user-facing message. */
  launch(signal: AbortSignal): Promise<Launched>;
  log: Logger;
  clientVersion: string;
  backoff?: { baseMs?: number; maxMs?: number };
  /** A connection that stays up this long resets the backoff to its first step. */
  stableMs?: number;
  /** Answers the runtime's questions (run approvals); see CogClientOptions.onElicit. */
  onElicit?: CogClientOptions['onElicit'];
  /** Liveness check of a remote server (a child's exit is noticed at once). */
  pingIntervalMs?: number;
}

/** Settles a lost-connection wait with the reason. */
type Loss = { reason: string; restartNow: boolean; setup?: boolean };

/**
 * Owns the runtime for the extension: starts it (or reaches the configured server),
 * connects the MCP client, watches the connection and starts over with backoff
 * (1 s, 2 s, 4 s … capped) when the runtime crashes or the server goes away.
 *
 * Only this class creates and closes clients. Everyone else reads `client`, listens to
 * `onEvent` (runtime events of every session, deduplicated by their consumers on `seq`)
 * and `onDidConnect` (after each reconnect, to catch up on what was missed meanwhile).
 */
export class RuntimeConnection implements Disposable {
  private readonly stateEmitter = new Emitter<ConnectionState>();
  private readonly eventEmitter = new Emitter<RuntimeEvent>();
  private readonly connectEmitter = new Emitter<CogClient>();
  private readonly resourceEmitter = new Emitter<string>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onEvent = this.eventEmitter.event;
  readonly onDidConnect = this.connectEmitter.event;
  /** A subscribed resource changed (`notifications/resources/updated`). */
  readonly onResourceUpdated = this.resourceEmitter.event;

  private current: { client: CogClient; launched: Launched } | undefined;
  private currentState: ConnectionState = { status: 'stopped' };
  private readonly lifetime = new AbortController();
  /** Aborted to end the current attempt early (restart); replaced for each attempt. */
  private attemptAbort = new AbortController();
  private restartRequested = false;
  private loop: Promise<void> | undefined;
  private waiters = new Set<() => void>();

  constructor(private readonly opts: ConnectionOptions) {}

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The connected client, or undefined while (re)connecting. */
  get client(): CogClient | undefined {
    return this.current?.client;
  }

  /** Where the runtime is and its bearer token, while connected (for VS Code's MCP and "copy config"). */
  get endpoint(): { url: URL; token?: string; pid?: number } | undefined {
    const l = this.current?.launched;
    return l && { url: l.url, ...(l.token ? { token: l.token } : {}), pid: l.pid };
  }

  /** Starts the supervision loop; calling it again does nothing. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Drops the current connection (stopping a child runtime) and starts over at once. */
  restart(reason: string): void {
    if (this.lifetime.signal.aborted) return;
    this.opts.log.info(`restarting the runtime connection: ${reason}`);
    this.restartRequested = true;
    this.attemptAbort.abort();
    this.start();
  }

  /** The runtime's models, learned from any tool answer that carries them. */
  setModel(model: ModelInfo): void {
    const same = JSON.stringify(model) === JSON.stringify(this.currentState.model);
    if (!same) this.setState({ ...this.currentState, model });
  }

  /** Resolves with the client once connected; rejects after `timeoutMs` or on dispose. */
  whenConnected(timeoutMs = 30_000): Promise<CogClient> {
    const now = this.client;
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`Not connected to the Cog runtime: ${this.describeState()}`));
      }, timeoutMs);
      const check = () => {
        if (this.client) {
          done();
          resolve(this.client);
        } else if (this.lifetime.signal.aborted) {
          done();
          reject(new Error('The Cog runtime connection was closed.'));
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  describeState(): string {
    const s = this.currentState;
    return s.detail ? `${s.status} (${s.detail})` : s.status;
  }

  /** Ends the loop: closes the client and stops a child runtime. Resolves when both are done. */
  async dispose(): Promise<void> {
    if (!this.lifetime.signal.aborted) {
      this.lifetime.abort();
      this.attemptAbort.abort();
    }
    await this.loop;
    this.loop = undefined;
    this.notifyWaiters();
    this.stateEmitter.dispose();
    this.eventEmitter.dispose();
    this.connectEmitter.dispose();
    this.resourceEmitter.dispose();
  }

  private setState(state: ConnectionState): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    for (const w of [...this.waiters]) w();
  }

  private async run(): Promise<void> {
    const { log } = this.opts;
    let attempt = 0;
    let first = true;
    while (!this.lifetime.signal.aborted) {
      this.attemptAbort = new AbortController();
      this.restartRequested = false;
      const signal = AbortSignal.any([this.lifetime.signal, this.attemptAbort.signal]);
      this.setState({
        status: first ? 'starting' : 'reconnecting',
        detail: this.currentState.detail,
        model: this.currentState.model,
      });
      first = false;
      let launched: Launched | undefined;
      let connectedAt = 0;
      let loss: Loss;
      try {
        launched = await this.opts.launch(signal);
        loss = await this.attach(launched, signal, () => (connectedAt = Date.now()));
      } catch (err) {
        loss = {
          reason: errorMessage(err),
          restartNow: this.restartRequested,
          setup: (err as { setup?: unknown }).setup === true,
        };
      }
      const client = this.current?.client;
      this.current = undefined;
      await client?.close();
      await launched?.stop?.();
      if (this.lifetime.signal.aborted) break;

      if (loss.setup && !loss.restartNow) {
        // Starting again would fail the same way: wait for the settings to change
        // (extension.ts restarts on that) or for Restart Runtime.
        log.warn(`the runtime cannot start with these settings: ${loss.reason}`);
        this.setState({
          status: 'error',
          detail: loss.reason,
          needsSetup: true,
          model: this.currentState.model,
        });
        await sleep(2 ** 31 - 1, AbortSignal.any([this.lifetime.signal, this.attemptAbort.signal]));
        attempt = 0;
        continue;
      }

      if (loss.restartNow) {
        attempt = 0;
        continue;
      }
      if (connectedAt && Date.now() - connectedAt >= (this.opts.stableMs ?? 30_000)) attempt = 0;
      const delay = restartDelayMs(attempt++, this.opts.backoff?.baseMs, this.opts.backoff?.maxMs);
      log.warn(
        `runtime connection ${connectedAt ? 'lost' : 'failed'}: ${loss.reason}; retrying in ${delay / 1000} s`,
      );
      this.setState({
        status: connectedAt ? 'reconnecting' : 'error',
        detail: `${loss.reason} (retrying in ${Math.round(delay / 1000)} s)`,
        model: this.currentState.model,
      });
      await sleep(delay, AbortSignal.any([this.lifetime.signal, this.attemptAbort.signal]));
      if (this.restartRequested) attempt = 0;
    }
    this.current = undefined;
    this.setState({ status: 'stopped', model: this.currentState.model });
    log.info('runtime connection stopped');
  }

  /** Connects to a launched runtime and resolves when the connection is lost or ended. */
  private async attach(launched: Launched, signal: AbortSignal, onUp: () => void): Promise<Loss> {
    const { log } = this.opts;
    const ended = new AbortController();
    const lost = new Promise<Loss>((resolve) => {
      const end = (reason: string) => {
        ended.abort();
        resolve({ reason, restartNow: this.restartRequested });
      };
      signal.addEventListener('abort', () => end('stopped'), { once: true });
      if (signal.aborted) end('stopped');
      void launched.exited?.then((exit) => end(describeExit(exit)));
      this.endAttempt = end;
    });
    const client = await Promise.race([
      connectCog({
        url: launched.url,
        ...bearerOf(launched),
        ...(launched.clientInfo ? { clientInfo: launched.clientInfo } : {}),
        clientVersion: this.opts.clientVersion,
        log,
        onEvent: (e) => this.eventEmitter.fire(e),
        onResourceUpdated: (uri) => this.resourceEmitter.fire(uri),
        ...(this.opts.onElicit ? { onElicit: this.opts.onElicit } : {}),
        onClosed: () => this.endAttempt?.('the MCP connection closed'),
      }),
      lost.then((l) => Promise.reject(new Error(l.reason))),
    ]).catch((err: unknown) => {
      const text = connectErrorText(err);
      const hint = /unauthori[sz]ed|\b401\b/i.test(text) && launched.authHint;
      throw new Error(`cannot connect to ${launched.label}: ${text}${hint ? ` ${hint}` : ''}`);
    });
    if (ended.signal.aborted) {
      await client.close();
      return lost;
    }
    this.current = { client, launched };
    onUp();
    log.info(`connected to ${launched.label} at ${launched.url.origin}`);
    this.setState({ status: 'connected', detail: launched.label, model: this.currentState.model });
    void this.probeModel(client);
    this.connectEmitter.fire(client);
    void this.keepAlive(client, ended.signal);
    return lost;
  }

  /** Ends the current attempt (connection lost); replaced by each attempt. */
  private endAttempt: ((reason: string) => void) | undefined;

  /** Pings the server; two misses in a row count as a lost connection. */
  private async keepAlive(client: CogClient, signal: AbortSignal): Promise<void> {
    let misses = 0;
    const every = this.opts.pingIntervalMs ?? 15_000;
    while (await sleep(every, signal)) {
      try {
        await client.ping(5000);
        misses = 0;
      } catch (err) {
        if (signal.aborted) return;
        misses++;
        this.opts.log.warn(`runtime did not answer a ping (${misses}): ${errorMessage(err)}`);
        if (misses >= 2) this.endAttempt?.('the runtime stopped answering');
      }
    }
  }

  /** Learns the model from any existing session's state, so the status bar can show it. */
  private async probeModel(client: CogClient): Promise<void> {
    try {
      const [first] = await listSessions(client);
      if (!first) return;
      const state = await sessionState(client, first.id);
      this.setModel(state.model);
    } catch (err) {
      this.opts.log.debug(`model probe: ${errorMessage(err)}`);
    }
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How a launched runtime's requests carry their token: fixed, refreshed, or none. */
function bearerOf(l: Launched): { bearer?: () => string | Promise<string> } {
  const { token, bearer } = l;
  if (bearer) return { bearer };
  return token ? { bearer: () => token } : {};
}
