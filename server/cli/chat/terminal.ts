import { createInterface } from 'node:readline';
import {
  describeIsolation,
  type ProcessInfo,
  type ProcessStatus,
  type RuntimeEvent,
} from '../../../protocol/events.js';
import { codeSha256 } from '../../processes/code-hash.js';
import type { Runtime } from '../../runtime/runtime.js';
import { banner, colourWanted, hudLine, paint } from './format.js';
import { Screen } from './screen.js';
import { completer, parseSlash, runSlash, type SlashContext } from './slash.js';
import { controlsText, failureOf, sendLine } from './turn.js';

const PROMPT = 'you> ';
const APPROVAL_PROMPT = 'Run it? [y/N] ';
/** Lines of one run's output shown live; the rest is in /trace and process-list. */
const OUTPUT_LINES = 40;
/** A second Ctrl-C at an idle prompt within this long quits. */
const QUIT_WINDOW_MS = 2_000;

/** Live output of one run, a line at a time, capped. */
interface RunView {
  status?: ProcessStatus;
  partial: string;
  shown: number;
  capped: boolean;
}

/**
 * `cog chat` on a terminal: a readline prompt that is always redrawn below replies, HUD
 * lines and process output; input typed during a turn is queued (and said so), never echoed
 * into the reply; Ctrl-C cancels the turn, or denies a run waiting for approval; slash
 * commands run here and are never sent to the model.
 */
export async function runTerminal(opts: {
  runtime: Runtime;
  owner: string;
  session: string;
}): Promise<number> {
  const { runtime, owner } = opts;
  const p = paint(colourWanted(true));
  const screen = new Screen();
  const rl = createInterface({
    input: process.stdin,
    output: screen.output,
    terminal: true,
    completer: completer(runtime, owner),
    historySize: 200,
  });
  screen.attach(rl);

  let session = opts.session;
  let running = false;
  let pending: ProcessInfo | undefined;
  let lastIdleSigint = 0;
  let closed = false;
  const queue: string[] = [];
  const runs = new Map<string, RunView>();
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));

  const hud = (line: string) => screen.print(p.dim(`  · ${line.replace(/\n/g, '\n  · ')}`));

  const showOutput = (e: Extract<RuntimeEvent, { type: 'process.output' }>) => {
    const run = runs.get(e.process) ?? { partial: '', shown: 0, capped: false };
    runs.set(e.process, run);
    const lines = (run.partial + e.text).split('\n');
    run.partial = lines.pop() ?? '';
    for (const line of lines) showOutputLine(run, line, e.stream);
  };
  const showOutputLine = (run: RunView, line: string, stream: 'stdout' | 'stderr') => {
    if (run.shown >= OUTPUT_LINES) {
      if (!run.capped) screen.print(p.dim('  │ … more output: /trace or process-list'));
      run.capped = true;
      return;
    }
    run.shown++;
    screen.print(`  ${p.dim('│')} ${stream === 'stderr' ? p.red(line) : line}`);
  };

  const askApproval = (proc: ProcessInfo) => {
    pending = proc;
    screen.print(
      `\n${p.yellow(`${proc.language} code wants to run, ${describeIsolation(proc.isolation)}:`)}\n${proc.code}`,
    );
    // The prompt shows while the turn waits: the next line typed is the answer.
    screen.unmute(APPROVAL_PROMPT);
  };

  const decide = (decision: 'approve' | 'deny'): boolean => {
    const proc = pending;
    if (!proc) return false;
    pending = undefined;
    try {
      // What was printed is exactly proc.code: the approval is for that code.
      runtime.approve(
        proc.id,
        owner,
        decision,
        decision === 'approve' ? codeSha256(proc.code) : undefined,
      );
      if (decision === 'deny') screen.print(p.dim('  (denied)'));
    } catch (e) {
      screen.print(p.red(`cog: ${(e as Error).message}`));
    }
    if (running) screen.mute();
    return true;
  };

  const onEvent = (e: RuntimeEvent) => {
    if (e.type === 'output.delta') return screen.reply(e.text);
    if (e.type === 'process.output') return showOutput(e);
    if (e.type === 'process.updated') {
      const run = runs.get(e.process.id) ?? { partial: '', shown: 0, capped: false };
      runs.set(e.process.id, run);
      if (run.status === e.process.status) return;
      run.status = e.process.status;
      if (run.partial && e.process.status !== 'running') {
        showOutputLine(run, run.partial, 'stdout');
        run.partial = '';
      }
      hud(hudLine(e) ?? `process ${e.process.id}: ${e.process.status}`);
      if (e.process.status === 'pending-approval') askApproval(e.process);
      else if (pending?.id === e.process.id) {
        // Decided elsewhere (another client, or the approval timed out).
        pending = undefined;
        if (running) screen.mute();
      }
      return;
    }
    const line = hudLine(e);
    if (line) hud(line);
  };
  let unwatch = await runtime.subscribe(session, owner, onEvent);

  const ctx: SlashContext = {
    runtime,
    owner,
    get session() {
      return session;
    },
    print: (text) => screen.print(text),
    async switchTo(id) {
      await runtime.session(id, owner);
      unwatch();
      session = id;
      runs.clear();
      unwatch = await runtime.subscribe(id, owner, onEvent);
      screen.print(p.dim(`now in session ${id}`));
    },
    decide,
    quit: () => rl.close(),
  };

  const turn = async (text: string) => {
    running = true;
    screen.mute();
    try {
      const result = await sendLine(runtime, session, owner, text);
      screen.endReply();
      const controls = controlsText(result);
      if (controls) screen.print(controls);
      const failure = failureOf(result);
      if (failure) screen.print(p.red(`cog: ${failure}`));
    } catch (e) {
      screen.endReply();
      screen.print(p.red(`cog: ${(e as Error).message}`));
    } finally {
      running = false;
      pending = undefined;
    }
  };

  /** Runs a line, then whatever was typed while it ran, then shows the prompt. */
  const handle = async (first: string) => {
    let echo = false;
    for (let line: string | undefined = first; line !== undefined; line = queue.shift()) {
      if (closed) return;
      // A queued line is shown as sent when its turn comes.
      if (echo) screen.print(`${p.bold(PROMPT)}${line}`);
      echo = true;
      const slash = parseSlash(line);
      if (slash && slash.name !== 'action') await runSlash(ctx, slash.name, slash.arg);
      else await turn(line);
    }
    if (!closed) screen.unmute(PROMPT);
  };

  rl.on('line', (raw) => {
    const line = raw.trim();
    if (pending) {
      decide(/^y(es)?$/i.test(line) ? 'approve' : 'deny');
      return;
    }
    if (running) {
      if (!line) return;
      queue.push(line);
      screen.print(p.dim(`  queued: ${line}`));
      return;
    }
    if (!line) return rl.prompt();
    void handle(line);
  });

  rl.on('SIGINT', () => {
    if (pending) {
      decide('deny');
      return;
    }
    if (running) {
      queue.length = 0;
      runtime.cancelTurn(session, owner);
      screen.print(p.dim('  (cancelling the turn)'));
      return;
    }
    if (rl.line) {
      // Like a shell: Ctrl-C drops what was typed.
      rl.write(null, { ctrl: true, name: 'u' });
      return;
    }
    const now = Date.now();
    if (now - lastIdleSigint < QUIT_WINDOW_MS) return rl.close();
    lastIdleSigint = now;
    screen.print(p.dim('  (Ctrl-C again to leave, or /quit)'));
  });

  rl.on('close', () => {
    closed = true;
    if (running) runtime.cancelTurn(session, owner);
    process.stdout.write('\n');
    done();
  });

  process.stdout.write(banner(runtime, session));
  screen.unmute(PROMPT);
  await finished;
  unwatch();
  await runtime.settled(session);
  return 0;
}
