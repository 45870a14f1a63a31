import { homedir } from 'node:os';
import { join } from 'node:path';
import { ISOLATIONS, describeIsolation } from '../../protocol/names.js';

/**
 * The offline engine's demonstrations: each shows one thing Cog does, deterministically and
 * without a model, so a newcomer can try all of it first. The code they run is Python,
 * which every isolation tier runs (python3 under bubblewrap or namespaces, Pyodide in the
 * WebAssembly tier).
 */

/** What the user can ask for, as `help` lists it. */
export const DEMOS: ReadonlyArray<{ say: string; shows: string; action: string }> = [
  {
    say: 'what is 17*23?',
    shows: 'a code run that computes, with its process card',
    action: 'arithmetic',
  },
  { say: 'count slowly to 20', shows: 'a long run with live output, to cancel', action: 'count' },
  { say: 'try to read my ssh key', shows: 'the sandbox and what it refuses', action: 'sandbox' },
  { say: 'show me a table', shows: 'a table and a button', action: 'table' },
  { say: 'show me buttons', shows: 'buttons whose clicks come back here', action: 'buttons' },
  {
    say: 'I’m Ada, then: what’s my name?',
    shows: 'the Memorizer’s shared memory',
    action: 'memory',
  },
];

export const COUNT_DEFAULT = 20;
const COUNT_MAX = 100;
const COUNT_PAUSE_S = 0.5;

/** "count slowly to 12" → 12; "count slowly" → 20; undefined when not asked to count. */
export function countOf(text: string): number | undefined {
  const m = /\bcount\b(?:\s+slowly)?(?:\s+(?:to|up to)\s+(\d+))?/i.exec(text);
  if (!m) return undefined;
  const n = m[1] ? Number(m[1]) : COUNT_DEFAULT;
  return Math.max(1, Math.min(COUNT_MAX, n));
}

export function countCode(n: number): string {
  return [
    'import time',
    `for i in range(1, ${n + 1}):`,
    '    print(i, flush=True)',
    `    time.sleep(${COUNT_PAUSE_S})`,
  ].join('\n');
}

export function wantsSandboxDemo(text: string): boolean {
  return /\b(ssh key|sandbox|secret|\/etc\/shadow|read my (files|key)|escape)\b/i.test(text);
}

/**
 * A probe of what the sandbox lets code reach: this machine's SSH keys, the password file,
 * Cog's own token and config (`home`), and the network. Each line says whether it was
 * read; in a sandbox every one is refused or absent. The paths are the host's, named by
 * the runtime: the code itself has no way to know them.
 */
export function sandboxProbeCode(home: string | undefined): string {
  const user = homedir();
  const files = [
    ['your SSH key', join(user, '.ssh', 'id_ed25519')],
    ['your SSH key', join(user, '.ssh', 'id_rsa')],
    ['the password hashes', '/etc/shadow'],
    ...(home
      ? [
          ["Cog's bearer token", join(home, 'token')],
          ["Cog's config (API keys)", join(home, 'config.json')],
        ]
      : []),
  ];
  return [
    'import os, socket',
    `files = ${JSON.stringify(files)}`,
    'for what, path in files:',
    '    try:',
    "        with open(path, 'rb') as f:",
    '            data = f.read()',
    "        print(f'READ   {what} ({path}): {len(data)} bytes')",
    '    except Exception as e:',
    "        print(f'denied {what} ({path}): {type(e).__name__}')",
    'try:',
    "    socket.create_connection(('example.com', 443), timeout=3).close()",
    "    print('REACHED the network (example.com:443)')",
    'except Exception as e:',
    "    print(f'denied the network (example.com:443): {type(e).__name__}')",
    'print(f\'env: {sorted(k for k in os.environ if "KEY" in k or "TOKEN" in k) or "no keys or tokens"}\')',
  ].join('\n');
}

/** The reply after the probe ran: what it shows, in words. */
export function sandboxVerdict(output: string, isolation: string | undefined): string {
  const lines = output.split('\n').filter(Boolean);
  const leaked = lines.filter((l) => l.startsWith('READ') || l.startsWith('REACHED'));
  const known = ISOLATIONS.find((t) => t === isolation);
  const tier = known ? `This run was ${describeIsolation(known)}. ` : '';
  if (leaked.length) {
    return `${tier}It reached what it should not have:\n${leaked.join('\n')}`;
  }
  return (
    `${tier}Everything it tried was refused: ${lines.filter((l) => l.startsWith('denied')).length} ` +
    'attempts, no file outside its workspace, no network, no keys or tokens in its environment.'
  );
}

export function helpReply(): string {
  const lines = DEMOS.map((d) => `• “${d.say}” — ${d.shows}`);
  return [
    'I am Cog’s offline engine: no model is configured, so I answer from a fixed script. ' +
      'Each of these shows something Cog does:',
    ...lines,
    'The HUD shows each node at work; /trace lists every event.',
  ].join('\n');
}

export function demoButtons() {
  return {
    controls: [
      { type: 'button', label: 'Count slowly', action: 'count', data: { to: 10 } },
      { type: 'button', label: 'Try the sandbox', action: 'sandbox' },
      { type: 'button', label: 'Show a table', action: 'table' },
      { type: 'button', label: 'What can you do?', action: 'help' },
    ],
  };
}
