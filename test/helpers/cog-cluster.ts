/**
 * Several real `cog serve` processes on one PostgreSQL database, with one bearer token they
 * all accept (a service token in that database) and a round-robin proxy in front: the
 * harness for multi-instance tests.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  cogBin,
  cogEnv,
  ensureBuilt,
  firstJsonLine,
  root,
  spawnCog,
  type CogProcess,
} from './cog-process.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';
import { tempHome } from './runtime.js';

/** One `cog serve` of a cluster. */
export interface CogInstance {
  /** Its MCP endpoint, as `cog serve` printed it: `http://127.0.0.1:<port>/mcp`. */
  url: string;
  /** Its own COG_HOME (a temp dir). */
  home: string;
  proc: CogProcess;
  pid: number;
}

/** A running cluster; see startCogCluster. */
export interface CogCluster {
  /** By index; restart(i) replaces entry i. */
  instances: CogInstance[];
  /** The service token (`service:cluster`, every scope) each instance accepts. */
  token: string;
  /** Round-robin over the instances' base URLs, in index order. */
  proxy: RoundRobinProxy;
  /**
   * The MCP SDK's Client over Streamable HTTP with the token, connected to instance
   * `target`'s /mcp or to the proxy's /mcp. stop() closes every client made here.
   */
  client(target: number | 'proxy', name?: string): Promise<Client>;
  /** Sends `signal` to instance `i` (SIGKILL to play a crash); does not wait. */
  kill(i: number, signal: NodeJS.Signals): void;
  /**
   * Stops instance `i` (SIGTERM, then SIGKILL) and starts it again on the same home and
   * port, so the proxy's backend list stays right.
   */
  restart(i: number): Promise<CogInstance>;
  /** Closes the clients and the proxy, stops every instance, deletes the homes. Idempotent. */
  stop(): Promise<void>;
}

const run = promisify(execFile);

/** Starts `cog serve --port <port> --database <url>` on `home`; resolves once it printed its URL. */
async function startInstance(
  home: string,
  port: number,
  databaseUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<CogInstance> {
  const proc = spawnCog(
    ['serve', '--port', String(port), '--database', databaseUrl],
    cogEnv(home, env),
  );
  try {
    const line = await firstJsonLine<{ url: string }>(proc, 30_000);
    const pid = proc.child.pid;
    if (pid === undefined) throw new Error('cog serve has no pid');
    return { url: line.url, home, proc, pid };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/**
 * Starts `opts.n` real `cog serve --port 0 --database <databaseUrl>` processes, each with
 * its own temp COG_HOME, all accepting one service token (created once in the database with
 * `cog token create --database`), and a round-robin proxy over them. `env` adds to each
 * instance's environment (e.g. COG_OFFLINE=1). Builds dist/ first if needed. On failure
 * everything started so far is stopped again.
 */
export async function startCogCluster(opts: {
  n: number;
  databaseUrl: string;
  env?: NodeJS.ProcessEnv;
}): Promise<CogCluster> {
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`n must be ≥ 1, not ${opts.n}`);
  await ensureBuilt();
  const env = opts.env ?? {};
  const homes = Array.from({ length: opts.n }, (_, i) => tempHome(`cog-cluster-${i}-`));
  const instances: CogInstance[] = [];
  const clients = new Set<Client>();
  let proxy: RoundRobinProxy | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.allSettled([...clients].map((c) => c.close()));
      await proxy?.close();
      await Promise.allSettled(instances.map((inst) => inst.proc.stop()));
      for (const h of homes) h.cleanup();
    })());

  try {
    // One token for all: made once, with the real CLI, in the database every instance
    // reads its service tokens from (the first home is only where the command runs).
    const first = homes[0]?.home ?? '';
    const made = await run(
      process.execPath,
      [cogBin, 'token', 'create', 'cluster', '--json', '--database', opts.databaseUrl],
      { cwd: root, env: cogEnv(first) },
    );
    const created = JSON.parse(made.stdout) as { token: string };
    // In parallel: the store's migrations run under an advisory lock, one instance at a time.
    const started = await Promise.allSettled(
      homes.map((h) => startInstance(h.home, 0, opts.databaseUrl, env)),
    );
    for (const s of started) if (s.status === 'fulfilled') instances.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    proxy = await startRoundRobinProxy(instances.map((inst) => new URL(inst.url).origin));

    const proxied = proxy;
    const connect = async (url: string, name: string): Promise<Client> => {
      const client = new Client({ name, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { Authorization: `Bearer ${created.token}` } },
        }),
      );
      clients.add(client);
      return client;
    };
    const instance = (i: number): CogInstance => {
      const inst = instances[i];
      if (!inst) throw new RangeError(`no instance ${i} (the cluster has ${instances.length})`);
      return inst;
    };
    return {
      instances,
      token: created.token,
      proxy: proxied,
      client: (target, name = 'cog-cluster-test') =>
        connect(target === 'proxy' ? `${proxied.url}/mcp` : instance(target).url, name),
      kill(i, signal) {
        instance(i).proc.child.kill(signal);
      },
      async restart(i) {
        const old = instance(i);
        await old.proc.stop();
        const port = Number(new URL(old.url).port);
        const fresh = await startInstance(old.home, port, opts.databaseUrl, env);
        instances[i] = fresh;
        return fresh;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
