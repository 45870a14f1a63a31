import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Isolation, ProcessInfo, RuntimeEvent } from '../../protocol/events.js';
import { localTokenVerifier } from '../../server/auth/tokens.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { DEFAULT_LIMITS } from '../../server/processes/types.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { sessionDir, tempHome, testConfig, workspaceDir } from '../helpers/runtime.js';
import type { Probe, ProbeHost } from './probe-kit.js';

const OWNER = 'local:battery';
const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/** Command lines of live processes containing `needle`. */
export function processesWith(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

/** Polls until no process holds `needle` (killing is asynchronous), else fails. */
export async function assertNoneAlive(needle: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (processesWith(needle).length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(processesWith(needle), [], `processes with ${needle} outlived the run`);
}

function readable(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One tier's battery: a runtime whose model is the fixture, and a host full of bait. */
export interface Battery {
  run(probe: Probe): Promise<void>;
  close(): Promise<void>;
}

/** Everything a probe must never obtain, each unique to this battery. */
function makeSecrets() {
  const s = (what: string) => `cogsecret-${what}-${randomBytes(12).toString('hex')}`;
  return {
    env: s('env'),
    token: s('token'),
    apiKey: s('apikey'),
    log: s('log'),
    workspace: s('workspace'),
    ssh: s('ssh'),
  };
}

/**
 * A battery for one tier. `none` is the control: it shows that each check does detect an
 * escape (run only with probes that are not harmful to an uncontained host).
 */
export async function startBattery(tier: Isolation): Promise<Battery> {
  const home = tempHome(`cog-battery-${tier}-`);
  const userHome = tempHome('cog-battery-user-');
  const secrets = makeSecrets();
  process.env.COG_BATTERY_SECRET = secrets.env;
  writeFileSync(join(home.home, 'token'), `${secrets.token}\n`, { mode: 0o600 });
  writeFileSync(join(home.home, 'config.json'), JSON.stringify({ apiKey: secrets.apiKey }));
  const fakeSsh = join(userHome.home, '.ssh', 'id_ed25519');
  mkdirSync(join(userHome.home, '.ssh'), { recursive: true });
  writeFileSync(fakeSsh, `-----BEGIN OPENSSH PRIVATE KEY-----\n${secrets.ssh}\n`);

  // A host process holding a secret in its environment, as the runtime holds its keys.
  const decoy = spawn('sleep', ['3600'], {
    env: { PATH: process.env.PATH ?? '', COG_DECOY: secrets.env },
    stdio: 'ignore',
  });
  // The host's /etc/shadow, when this test may read it (it runs as root in CI).
  const shadow = readable('/etc/shadow')?.split('\n')[0];
  const bait: Record<string, string> = { ...secrets, ...(shadow ? { shadow } : {}) };

  const fixture: FixtureServer = await startFixtureServer();
  // One generic step per request, so probes may run side by side: a thinker request with
  // no tool result yet gets its probe's run_code; one with a result gets a short reply.
  const pending = new Map<string, Probe & { host: ProbeHost }>();
  const toolMessages = new Map<string, string>();
  const thinkerStep = (req: { body: { messages?: { role: string; content?: unknown }[] } }) => {
    const messages = req.body.messages ?? [];
    const user = [...messages].reverse().find((m) => m.role === 'user');
    const key = /probe-key (\w+)/.exec(String(user?.content ?? ''))?.[1] ?? '';
    const probe = pending.get(key);
    const tool = messages.find((m) => m.role === 'tool');
    if (!probe) return reply.text('no such probe');
    if (tool) {
      toolMessages.set(key, String(tool.content ?? ''));
      return reply.text('The run finished.');
    }
    return reply.toolCalls([
      {
        name: 'run_code',
        arguments: JSON.stringify({ language: probe.language, code: probe.code(probe.host) }),
      },
    ]);
  };
  const scriptThinker = () => fixture.script('thinker', [thinkerStep, thinkerStep]);

  const limits = {
    ...DEFAULT_LIMITS,
    // Pyodide needs a second or two to load before the code starts.
    timeoutMs: tier === 'wasm' ? 12_000 : 4_000,
  };
  const config = testConfig(home.home, {
    endpoint: { baseUrl: fixture.url, apiKey: secrets.apiKey, source: 'test' },
    models: { input: 'm', thinker: 'm', output: 'm', memorizer: 'm' },
    approval: 'auto',
    sandbox: tier,
    limits,
  });
  const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: secrets.apiKey });
  const runtime: Runtime = await createRuntime(config, { model, sandbox: tier });
  const mcp: HttpServerHandle = await startHttpServer(runtime, {
    auth: { verify: localTokenVerifier(secrets.token) },
    port: 0,
  });

  // Another session with a conversation, a log and a workspace full of secrets.
  const other = (await runtime.createSession(OWNER, { id: 'other' })).id;
  fixture.script('thinker', [reply.text('Noted.')]);
  await runtime.send(other, OWNER, `remember ${secrets.log}`);
  await runtime.settled(other);
  const otherWorkspace = workspaceDir(home.home, OWNER, other);
  mkdirSync(otherWorkspace, { recursive: true });
  writeFileSync(join(otherWorkspace, 'secret.txt'), secrets.workspace);
  const otherLog = join(sessionDir(home.home, OWNER, other), '000001.jsonl');
  assert.ok(existsSync(otherLog), 'the other session has a log on disk');

  // Listeners a probe must never reach; they count what arrives.
  const hits = { tcp: 0, udp: 0, unix: 0, abstract: 0 };
  const listen = (server: Server, ...args: unknown[]) =>
    new Promise<void>((resolve) => (server.listen as (...a: unknown[]) => void)(...args, resolve));
  const tcp = createServer((s) => (hits.tcp++, s.destroy()));
  await listen(tcp, 0, '0.0.0.0');
  const unixPath = join(home.home, 'run', 'battery.sock');
  mkdirSync(join(home.home, 'run'), { recursive: true });
  const unix = createServer((s) => (hits.unix++, s.destroy()));
  await listen(unix, unixPath);
  const abstractName = `cog-battery-${randomBytes(6).toString('hex')}`;
  const abstract = createServer((s) => (hits.abstract++, s.destroy()));
  await listen(abstract, `\0${abstractName}`);
  const udp = createSocket('udp4');
  udp.on('message', () => hits.udp++);
  await new Promise<void>((resolve) => udp.bind(0, '0.0.0.0', resolve));
  let sigterms = 0;
  const onTerm = () => sigterms++;
  process.on('SIGTERM', onTerm);

  const tokenSplit = Math.floor(secrets.token.length / 2);
  const probeRequests = () => fixture.requests.filter((r) => r.node === 'probe').length;
  let n = 0;

  return {
    async run(probe) {
      const key = `k${++n}${randomBytes(3).toString('hex')}`;
      const marker = `9${randomInt(10_000_000, 99_999_999)}${n}`;
      const host: ProbeHost = {
        home: home.home,
        runtimePid: process.pid,
        decoyPid: decoy.pid ?? 0,
        otherSession: other,
        otherWorkspace,
        otherLog,
        fakeSsh,
        ports: {
          mcp: mcp.port,
          model: Number(new URL(fixture.url).port),
          tcp: (tcp.address() as { port: number }).port,
          udp: udp.address().port,
        },
        unixSocket: unixPath,
        abstractSocket: abstractName,
        marker,
        tokenHalves: [secrets.token.slice(0, tokenSplit), secrets.token.slice(tokenSplit)],
      };
      const before = {
        hits: { ...hits },
        otherLog: readFileSync(otherLog),
        sigterms,
        probeRequests: probeRequests(),
      };
      const written = [
        `/tmp/${marker}`,
        `/tmp/${marker}-js`,
        join(home.home, marker),
        `/usr/${marker}`,
        `/${marker}`,
        join(otherWorkspace, marker),
      ];
      try {
        await runProbe(probe, key, marker, host, before, written);
      } finally {
        // Only the control can have written these; leave the host as it was.
        for (const path of written) rmSync(path, { force: true });
      }
    },
    async close() {
      process.off('SIGTERM', onTerm);
      decoy.kill('SIGKILL');
      delete process.env.COG_BATTERY_SECRET;
      await mcp.close();
      await runtime.close();
      await fixture.close();
      for (const s of [tcp, unix, abstract]) await new Promise((r) => s.close(r));
      udp.close();
      home.cleanup();
      userHome.cleanup();
    },
  };

  async function runProbe(
    probe: Probe,
    key: string,
    marker: string,
    host: ProbeHost,
    before: { hits: typeof hits; otherLog: Buffer; sigterms: number; probeRequests: number },
    written: string[],
  ): Promise<void> {
    pending.set(key, { ...probe, host });
    scriptThinker();
    const session = (await runtime.createSession(OWNER)).id;
    const events: RuntimeEvent[] = [];
    let cancelled = false;
    runtime.subscribe(session, OWNER, (e) => {
      events.push(e);
      if (
        probe.until === 'cancel' &&
        !cancelled &&
        e.type === 'process.output' &&
        e.text.includes('READY')
      ) {
        cancelled = true;
        runtime.cancelProcess(e.process, OWNER);
      }
    });
    const result = await runtime.send(session, OWNER, `run probe-key ${key}`);
    await runtime.settled(session);
    pending.delete(key);

    const updates = events.filter((e) => e.type === 'process.updated');
    const proc = updates.at(-1)?.process as ProcessInfo | undefined;
    assert.ok(proc, `the probe ran as a process (turn ${result.status}: ${result.text})`);
    const output = events
      .filter((e) => e.type === 'process.output')
      .map((e) => e.text)
      .join('');
    const toModel = toolMessages.get(key) ?? '';
    const trace = readdirSync(sessionDir(home.home, OWNER, session))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => readFileSync(join(sessionDir(home.home, OWNER, session), f), 'utf8'))
      .join('');
    const context = `${probe.name} [${proc.status}${proc.reason ? `: ${proc.reason}` : ''}]\n${output.slice(0, 3000)}`;

    assert.equal(proc.isolation, tier, `ran in ${tier}`);
    // Nothing secret, in any form, in what the code printed, what went to the model
    // provider, or the trace.
    for (const [what, secret] of Object.entries(bait)) {
      for (const [where, text] of Object.entries({ output, toModel, trace })) {
        assert.ok(!text.includes(secret), `${what} secret in ${where}: ${context}`);
        assert.ok(!text.includes(hex(secret)), `${what} secret (hex) in ${where}: ${context}`);
      }
    }
    // Nothing reached the host's listeners, the model endpoint, or the runtime.
    assert.deepEqual(hits, before.hits, `a listener was reached: ${context}`);
    assert.ok(!output.includes(hex('CONNECTED')), `a connection succeeded: ${context}`);
    assert.equal(probeRequests(), before.probeRequests, 'the model endpoint was reached');
    assert.equal(sigterms, before.sigterms, `the runtime was signalled: ${context}`);
    // Nothing written outside the workspace.
    for (const path of written) {
      assert.ok(!existsSync(path), `${path} was written: ${context}`);
    }
    // The runtime itself may append to it (sensor ticks); nothing else may touch it.
    const log = readFileSync(otherLog);
    assert.ok(log.subarray(0, before.otherLog.length).equals(before.otherLog), 'log rewritten');
    assert.ok(!log.includes(`FORGED-${marker}`), `a forged event in another session's log`);
    // Nothing outlives the run.
    await assertNoneAlive(marker.slice(1));

    const escaped = probe.escapedIf?.(output);
    if (escaped) assert.fail(`${escaped}: ${context}`);
    const limitsHeld = checkLimits(probe, proc, output, workspaceDir(home.home, OWNER, session));
    if (limitsHeld) assert.fail(`${limitsHeld}: ${context}`);
    if (probe.name.includes('redacted')) {
      assert.ok(output.includes('[redacted]'), `the token was not redacted: ${context}`);
    }
  }
}

/** For the resource probes: what must be true of how the run ended. Undefined: held. */
function checkLimits(
  probe: Probe,
  proc: ProcessInfo,
  output: string,
  workspace: string,
): string | undefined {
  if (probe.until === 'timeout' && proc.status !== 'timed-out' && proc.status !== 'failed') {
    return `expected the run to be stopped, it ended ${proc.status}`;
  }
  if (probe.name.startsWith('a fork bomb')) {
    const forked = Number(/forked (\d+)/.exec(output)?.[1] ?? 0);
    if (forked > DEFAULT_LIMITS.processes) return `forked ${forked} processes`;
  }
  if (probe.name.startsWith('a memory bomb') && output.includes('allocated GiB')) {
    return 'allocated 16 GiB';
  }
  if (probe.name.startsWith('1 GiB of output')) {
    if (output.includes('wrote 1 GiB')) return 'wrote 1 GiB of output';
    if (Buffer.byteLength(output) > DEFAULT_LIMITS.maxOutputBytes) return 'kept more than the cap';
  }
  if (probe.name.startsWith('a 1 GiB file')) {
    const big = join(workspace, 'big.bin');
    const size = existsSync(big) ? statSync(big).size : 0;
    if (size > DEFAULT_LIMITS.fileBytes) return `wrote a ${size}-byte file`;
  }
  return undefined;
}
