import type { RuntimeEvent } from '../../../protocol/events.js';
import type { Runtime } from '../../runtime/runtime.js';
import { hudLine } from './format.js';

/** What a slash command may do to the chat it runs in. */
export interface SlashContext {
  readonly runtime: Runtime;
  readonly owner: string;
  /** The session the chat talks to now. */
  readonly session: string;
  /** Prints a block of text (above the prompt on a terminal). */
  print(text: string): void;
  switchTo(id: string): Promise<void>;
  /** Decides the run waiting for approval; false when none is waiting. */
  decide(decision: 'approve' | 'deny'): boolean;
  quit(): void;
}

interface Command {
  usage: string;
  help: string;
  run(ctx: SlashContext, arg: string): Promise<void> | void;
}

const TRACE_DEFAULT = 20;

/** A trace line: seq, node, type and what the HUD would say about it. */
function traceLine(e: RuntimeEvent): string {
  const detail =
    hudLine(e) ??
    (e.type === 'user.message' || e.type === 'assistant.message'
      ? JSON.stringify(e.text.length > 80 ? `${e.text.slice(0, 77)}…` : e.text)
      : '');
  return `#${e.seq} ${e.node} ${e.type}${detail ? `  ${detail.split('\n')[0]}` : ''}`;
}

export const COMMANDS: Record<string, Command> = {
  help: {
    usage: '/help',
    help: 'this list',
    run: (ctx) => ctx.print(helpText()),
  },
  sessions: {
    usage: '/sessions',
    help: 'your sessions (the current one marked *)',
    run(ctx) {
      const list = ctx.runtime.listSessions(ctx.owner);
      if (!list.length) return ctx.print('no sessions');
      ctx.print(
        list
          .map(
            (s) =>
              `${s.id === ctx.session ? '*' : ' '} ${s.id}  ${s.turns} turn(s)  ${s.createdAt.slice(0, 16).replace('T', ' ')}${s.title ? `  ${s.title}` : ''}`,
          )
          .join('\n'),
      );
    },
  },
  rename: {
    usage: '/rename TITLE',
    help: 'retitle this session (Cog no longer titles it from its topic)',
    async run(ctx, arg) {
      if (!arg.trim()) return ctx.print('usage: /rename TITLE');
      const renamed = await ctx.runtime.renameSession(ctx.session, ctx.owner, arg);
      ctx.print(`renamed to "${renamed.title ?? arg.trim()}"`);
    },
  },
  session: {
    usage: '/session ID',
    help: 'switch to one of your sessions',
    async run(ctx, arg) {
      if (!arg) return ctx.print('usage: /session ID (see /sessions)');
      await ctx.switchTo(arg);
    },
  },
  new: {
    usage: '/new',
    help: 'start a new session and switch to it',
    async run(ctx) {
      const made = await ctx.runtime.createSession(ctx.owner);
      await ctx.switchTo(made.id);
    },
  },
  clear: {
    usage: '/clear',
    help: "forget this session's conversation and memory",
    async run(ctx) {
      const seq = await ctx.runtime.clear(ctx.session, ctx.owner);
      ctx.print(`cleared (the trace starts again at #${seq})`);
    },
  },
  approve: {
    usage: '/approve',
    help: 'run the code waiting for approval',
    run: (ctx) => void (ctx.decide('approve') || ctx.print('nothing is waiting for approval')),
  },
  deny: {
    usage: '/deny',
    help: 'refuse the code waiting for approval',
    run: (ctx) => void (ctx.decide('deny') || ctx.print('nothing is waiting for approval')),
  },
  trace: {
    usage: '/trace [N]',
    help: `the last N events of this session (default ${TRACE_DEFAULT})`,
    async run(ctx, arg) {
      const n = arg ? Number(arg) : TRACE_DEFAULT;
      if (!Number.isInteger(n) || n < 1 || n > 1000)
        return ctx.print('usage: /trace [N], N from 1 to 1000');
      const session = await ctx.runtime.session(ctx.session, ctx.owner);
      const events = await session.read(Math.max(0, session.seq - n), n);
      ctx.print(events.length ? events.map(traceLine).join('\n') : 'no events yet');
    },
  },
  state: {
    usage: '/state',
    help: "the Memorizer's shared state",
    async run(ctx) {
      const session = await ctx.runtime.session(ctx.session, ctx.owner);
      const lines = Object.entries(session.memory).map(
        ([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`,
      );
      ctx.print(`memory v${session.memoryVersion}\n${lines.join('\n')}`);
    },
  },
  action: {
    usage: '/action NAME [JSON]',
    help: 'press a button of the last reply (its action, and data as JSON)',
    // Handled by the chat itself: it is a turn, not a local command.
    run: () => undefined,
  },
  quit: {
    usage: '/quit',
    help: 'leave (also /exit, Ctrl-D, or Ctrl-C twice)',
    run: (ctx) => ctx.quit(),
  },
};

const ALIASES: Record<string, string> = { exit: 'quit', q: 'quit', '?': 'help' };

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    'Type a message to talk to Cog. Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.help}`),
    'Ctrl-C cancels the running turn (or denies the run waiting for approval).',
  ].join('\n');
}

/** `/name rest` → its command and argument; undefined for a line that is not a command. */
export function parseSlash(line: string): { name: string; arg: string } | undefined {
  const m = /^\/(\S+)\s*(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const name = ALIASES[m[1]] ?? m[1];
  return { name, arg: m[2].trim() };
}

/** Runs a slash command; an unknown one is reported, never sent to the model. */
export async function runSlash(ctx: SlashContext, name: string, arg: string): Promise<void> {
  const command = COMMANDS[name];
  if (!command) return ctx.print(`unknown command /${name}: /help lists them`);
  try {
    await command.run(ctx, arg);
  } catch (e) {
    ctx.print(`/${name}: ${(e as Error).message}`);
  }
}

/** Tab completion: command names, then session ids after `/session `. */
export function completer(runtime: Runtime, owner: string) {
  return (line: string): [string[], string] => {
    const sessionArg = /^\/session\s+(\S*)$/.exec(line);
    if (sessionArg) {
      const ids = runtime.listSessions(owner).map((s) => `/session ${s.id}`);
      return [ids.filter((c) => c.startsWith(line)), line];
    }
    if (!line.startsWith('/') || line.includes(' ')) return [[], line];
    const names = [...Object.keys(COMMANDS), ...Object.keys(ALIASES)].map((n) => `/${n}`);
    return [names.filter((c) => c.startsWith(line)), line];
  };
}
