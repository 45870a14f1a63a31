import { userInfo } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { describeIsolation, type ProcessInfo, type RuntimeEvent } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { codeSha256 } from '../processes/code-hash.js';

export interface ChatOptions {
  session?: string;
  json: boolean;
}

const dim = (s: string, tty: boolean) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

/** One compact HUD line for an event, or nothing for events the chat shows otherwise. */
export function hudLine(e: RuntimeEvent): string | undefined {
  switch (e.type) {
    case 'node.thinking':
      return `${e.node}: ${e.detail}`;
    case 'node.context':
      // The second report of a call: the provider's own count, beside Cog's.
      if (e.usage) return `${e.node}: the provider counted ${e.usage.promptTokens} prompt tokens`;
      return `${e.node}: context ${e.tokens}/${e.budget} tokens (${e.fillPct}%)${e.trimmed ? `, ${e.trimmed} trimmed` : ''}`;
    case 'node.perceived':
      return `input: ${e.perception}`;
    case 'node.decided':
      return `thinker: ${e.summary}`;
    case 'node.done':
      return `${e.node}: done in ${e.ms} ms`;
    case 'node.error':
      return `${e.node}: error ${e.code}: ${e.message}`;
    case 'process.updated':
      return `process ${e.process.id} (${e.process.language}, ${e.process.isolation}): ${e.process.status}${e.process.reason ? ` (${e.process.reason})` : ''}`;
    case 'memory.updated':
      return e.changes.length ? `memorizer: v${e.version} ${e.changes.join('; ')}` : undefined;
    case 'turn.queued':
      return `queued behind ${e.position} turn(s)`;
    case 'controls':
      return e.controls
        .map((c) =>
          c.type === 'button'
            ? `control: [${c.label}] → ${c.action}`
            : c.type === 'table'
              ? `control: table ${c.columns.join(' | ')} (${c.rows.length} rows)`
              : `control: process card ${c.processId}`,
        )
        .join('\n');
    default:
      return undefined;
  }
}

function renderTable(columns: string[], rows: unknown[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? '' : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [
    line(cells[0]),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.slice(1).map(line),
  ].join('\n');
}

function banner(runtime: Runtime, session: string): string {
  const m = runtime.modelInfo;
  const source = m.offline
    ? 'offline engine (no model configured: set COG_LLM_BASE_URL or OPENROUTER_API_KEY)'
    : `${m.baseUrl} · thinker ${m.models.thinker}, output ${m.models.output}`;
  const c = runtime.config;
  return `cog · ${source}\n  session ${session} · pipeline ${c.pipeline} · approval ${c.approval}\n`;
}

/** `cog chat`: an interactive chat on a TTY, or a line-per-message script on a pipe. */
export async function runChat(config: CogConfig, opts: ChatOptions): Promise<number> {
  const tty = Boolean(process.stdin.isTTY);
  const owner = `local:${userInfo().username}`;
  const runtime = await createRuntime(config);
  const session = opts.session
    ? await runtime.openSession(opts.session, owner)
    : await runtime.session((await runtime.createSession(owner)).id, owner);
  const out = (s: string) => process.stdout.write(s);
  const err = (s: string) => process.stderr.write(s);
  let rl: Interface | undefined = undefined;
  let approvalQueue = Promise.resolve();

  const askApproval = (p: ProcessInfo) => {
    approvalQueue = approvalQueue.then(
      () =>
        new Promise<void>((resolve) => {
          if (!rl) return resolve();
          out(`\n${p.language} code wants to run, ${describeIsolation(p.isolation)}:\n${p.code}\n`);
          rl.question('Run it? [y/N] ', (answer) => {
            const decision = /^y(es)?$/i.test(answer.trim()) ? 'approve' : 'deny';
            try {
              // What was printed above is exactly p.code.
              runtime.approve(p.id, owner, decision, codeSha256(p.code));
            } catch (e) {
              err(`cog: ${(e as Error).message}\n`);
            }
            resolve();
          });
        }),
    );
  };

  // HUD lines that arrive while a reply streams wait until it ends, so they never split it.
  let streaming = false;
  let heldHud: string[] = [];
  await runtime.subscribe(session.id, owner, (e) => {
    if (opts.json) {
      out(`${JSON.stringify(e)}\n`);
    } else if (e.type === 'output.delta' && tty) {
      streaming = true;
      out(e.text);
    } else if (tty) {
      const line = hudLine(e);
      if (line) heldHud.push(dim(`  · ${line.replace(/\n/g, '\n  · ')}\n`, true));
      if (streaming && (e.type === 'assistant.message' || e.type === 'turn.done')) {
        streaming = false;
        out('\n');
      }
      if (!streaming) {
        for (const held of heldHud) err(held);
        heldHud = [];
      }
    }
    if (e.type === 'process.updated' && e.process.status === 'pending-approval') {
      if (tty) {
        askApproval(e.process);
      } else {
        err(
          `cog: ${e.process.id} needs approval but stdin is not a terminal: denied. ` +
            'Set COG_APPROVAL=auto to let piped chats run code.\n',
        );
        runtime.approve(e.process.id, owner, 'deny');
      }
    }
  });

  const turn = async (text: string) => {
    const action = /^\/action\s+(\S+)\s*(.*)$/.exec(text);
    const data = action?.[2] ? (JSON.parse(action[2]) as Record<string, unknown>) : undefined;
    const result = action
      ? await runtime.action(
          session.id,
          owner,
          { action: action[1], ...(data ? { data } : {}) },
          { channel: 'terminal' },
        )
      : await runtime.send(session.id, owner, text, { channel: 'terminal' });
    if (opts.json) return;
    if (!tty) out(`${result.text}\n`);
    for (const c of result.controls) {
      if (c.type === 'table')
        out(`${c.title ? `${c.title}\n` : ''}${renderTable(c.columns, c.rows)}\n`);
      if (c.type === 'button') out(`[${c.label}]  (type /action ${c.action} to click)\n`);
    }
    if (result.status !== 'ok') err(`cog: ${result.error ?? result.status}\n`);
  };

  if (!opts.json && tty) out(banner(runtime, session.id));
  if (!opts.json && !tty) err(banner(runtime, session.id));

  rl = createInterface({
    input: process.stdin,
    terminal: tty,
    ...(tty ? { output: process.stdout } : {}),
  });
  let busy = false;
  rl.on('SIGINT', () => {
    if (busy) {
      runtime.cancelTurn(session.id, owner);
      err('\n(cancelled)\n');
    } else {
      rl?.close();
    }
  });

  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  rl.on('line', (line) => {
    lines.push(line);
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  if (tty) rl.setPrompt('you> ');

  let failed = false;
  for (;;) {
    if (tty && !lines.length) rl.prompt();
    while (!lines.length && !ended) await new Promise<void>((r) => (wake = r));
    const line = lines.shift();
    if (line === undefined) break;
    const text = line.trim();
    if (!text) continue;
    if (text === '/exit' || text === '/quit') break;
    busy = true;
    try {
      await turn(text);
    } catch (e) {
      failed = true;
      err(`cog: ${(e as Error).message}\n`);
    } finally {
      busy = false;
    }
  }
  rl.close();
  await runtime.settled(session.id);
  await runtime.close();
  return failed ? 1 : 0;
}
