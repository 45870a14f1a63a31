/**
 * A program in a real pseudo-terminal, driven as a person would drive it: tmux (Debian's,
 * test/setup/install.sh installs it) runs it in a detached session on a private socket;
 * keys go in with send-keys and the screen comes back with capture-pane.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Terminal {
  /** Types text (literally, no key names) and optionally presses Enter. */
  type(text: string, opts?: { enter?: boolean }): Promise<void>;
  /** Presses keys by tmux name: `Enter`, `C-c`, `Tab`, `C-d`. */
  press(...keys: string[]): Promise<void>;
  /** The whole screen plus scrollback, trailing blank lines dropped. */
  screen(): Promise<string>;
  /** Polls the screen until `pattern` matches; fails with the screen when it never does. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Whether the program has exited (its pane is dead). */
  exited(): Promise<boolean>;
  close(): Promise<void>;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function openTerminal(opts: {
  command: string[];
  env: Record<string, string>;
  cwd?: string;
  width?: number;
  height?: number;
}): Promise<Terminal> {
  const socket = `cog-test-${randomBytes(6).toString('hex')}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { timeout: 10_000 });
  const env = Object.entries(opts.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  await tmux(
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-x',
    String(opts.width ?? 100),
    '-y',
    String(opts.height ?? 40),
    ...(opts.cwd ? ['-c', opts.cwd] : []),
    `exec env -i ${env.join(' ')} ${opts.command.map(shellQuote).join(' ')}`,
    // In the same tmux command, before the program can exit: the pane stays after it
    // does, so its last screen can still be read.
    ';',
    'set-option',
    '-g',
    'remain-on-exit',
    'on',
  );

  const screen = async () =>
    (await tmux('capture-pane', '-p', '-J', '-S', '-2000')).stdout.replace(/\n+$/, '');
  return {
    async type(text, o = {}) {
      await tmux('send-keys', '-l', text);
      if (o.enter) await tmux('send-keys', 'Enter');
    },
    async press(...keys) {
      await tmux('send-keys', ...keys);
    },
    screen,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        last = await screen();
        if (pattern.test(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${pattern}; the screen:\n${last}`);
    },
    async exited() {
      const { stdout } = await tmux('display-message', '-p', '#{pane_dead}');
      return stdout.trim() === '1';
    },
    async close() {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}
