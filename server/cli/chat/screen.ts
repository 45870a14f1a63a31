import { clearLine, cursorTo, type Interface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * The terminal as the chat draws it: a prompt on the last line (readline's), and
 * everything else — replies, HUD lines, process output — written above it. While a turn
 * runs, readline's echo is muted: what the user types is kept in readline's line (and sent
 * once the turn ends) but never lands in the middle of the streaming reply.
 */
export class Screen {
  /** readline writes through this; muting it hides the prompt and the echo. */
  readonly output: Writable & { columns?: number; rows?: number; isTTY?: boolean };
  private rl: Interface | undefined;
  private muted = false;
  /** The streaming reply has written part of a line: other lines wait for its end. */
  private midLine = false;
  private held: string[] = [];

  constructor(private readonly tty: NodeJS.WriteStream = process.stdout) {
    const out = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        if (!this.muted) tty.write(chunk);
        done();
      },
    });
    this.output = Object.assign(out, { isTTY: true });
    Object.defineProperty(this.output, 'columns', { get: () => tty.columns });
    Object.defineProperty(this.output, 'rows', { get: () => tty.rows });
    tty.on('resize', () => this.output.emit('resize'));
  }

  attach(rl: Interface): void {
    this.rl = rl;
  }

  /** Hides the prompt (a turn is running). */
  mute(): void {
    if (this.muted) return;
    this.clearPromptLine();
    this.muted = true;
  }

  /** Shows the prompt again, with whatever the user has typed so far. */
  unmute(prompt: string): void {
    this.endReply();
    this.muted = false;
    this.rl?.setPrompt(prompt);
    this.rl?.prompt(true);
  }

  /** A piece of the streaming reply, written as it comes. */
  reply(text: string): void {
    if (!text) return;
    if (!this.muted) this.clearPromptLine();
    this.tty.write(text);
    this.midLine = !text.endsWith('\n');
    if (!this.midLine) this.flushHeld();
  }

  /** Ends the reply's last line, if it is open, and writes what waited for it. */
  endReply(): void {
    if (this.midLine) {
      this.tty.write('\n');
      this.midLine = false;
    }
    this.flushHeld();
  }

  /** Lines above the prompt (after the reply's current line, if one is open). */
  print(text: string): void {
    if (this.midLine) {
      this.held.push(text);
      return;
    }
    if (!this.muted) this.clearPromptLine();
    this.tty.write(`${text}\n`);
    if (!this.muted) this.rl?.prompt(true);
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const text of held) this.print(text);
  }

  private clearPromptLine(): void {
    clearLine(this.tty, 0);
    cursorTo(this.tty, 0);
  }
}
