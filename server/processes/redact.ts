/** What a redacted secret is replaced with in output, the trace and the model's view. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not redacted: they would match ordinary text. */
const MIN_SECRET_LENGTH = 8;

/**
 * Removes Cog's own secrets (its bearer token, configured API keys) from a stream of
 * text, however the stream is chunked: a chunk's end that could be the start of a secret
 * is held back until the next chunk (or `end()`) decides. Nothing else is delayed, so
 * output that cannot be a secret streams at once.
 */
export class StreamRedactor {
  private held = '';

  constructor(private readonly secrets: () => readonly string[]) {}

  /** The part of `text` (after what was held) that is safe to show now. */
  push(text: string): string {
    const secrets = this.current();
    if (secrets.length === 0) {
      const out = this.held + text;
      this.held = '';
      return out;
    }
    const all = redactAll(this.held + text, secrets);
    const keep = heldLength(all, secrets);
    this.held = all.slice(all.length - keep);
    return all.slice(0, all.length - keep);
  }

  /** Whatever was held back, redacted. */
  end(): string {
    const out = redactAll(this.held, this.current());
    this.held = '';
    return out;
  }

  private current(): string[] {
    return this.secrets().filter((s) => s.length >= MIN_SECRET_LENGTH);
  }
}

function redactAll(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Length of the longest suffix of `text` that is a proper prefix of some secret. */
function heldLength(text: string, secrets: readonly string[]): number {
  let best = 0;
  for (const s of secrets) {
    for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
      if (text.endsWith(s.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}
