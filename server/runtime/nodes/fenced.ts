import type { Language } from '../../../protocol/events.js';

/**
 * The fallback for models without function calling: code and controls in fenced blocks.
 *
 * The prototype ran any fenced block as Python, untagged ones included, wrapped Python in a
 * SQLite script when it mentioned SELECT, and ran `bash` blocks with python3. Here a block
 * runs only when its tag names a language we run, and it runs as exactly that language.
 */

const RUNNABLE: Record<string, Language> = {
  python: 'python',
  py: 'python',
  python3: 'python',
  javascript: 'javascript',
  js: 'javascript',
  node: 'javascript',
  sql: 'sql',
  sqlite: 'sql',
};

export interface FencedBlock {
  /** The tag after the opening fence, lower-cased ('' when untagged). */
  tag: string;
  body: string;
  /** Offsets of the whole block (fences included) in the source text. */
  start: number;
  end: number;
}

export interface FencedParse {
  runs: { language: Language; code: string }[];
  /** Parsed JSON of each ```controls block (validated later). */
  controls: unknown[];
  /** Problems with controls blocks that were not JSON. */
  errors: string[];
  /** The text with run and controls blocks removed; other blocks stay as prose. */
  prose: string;
}

const FENCE = /^([ \t]*)(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*\n([\s\S]*?)^\1\2[ \t]*$/gm;

/** Every complete fenced block, in order. An unclosed fence is not a block. */
export function findBlocks(text: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  for (const m of text.matchAll(FENCE)) {
    blocks.push({
      tag: (m[3] ?? '').toLowerCase(),
      body: (m[4] ?? '').replace(/\n$/, ''),
      start: m.index,
      end: m.index + m[0].length,
    });
  }
  return blocks;
}

export function runnableLanguage(tag: string): Language | undefined {
  return Object.hasOwn(RUNNABLE, tag) ? RUNNABLE[tag] : undefined;
}

export function parseFenced(text: string): FencedParse {
  const out: FencedParse = { runs: [], controls: [], errors: [], prose: '' };
  let prose = '';
  let last = 0;
  for (const block of findBlocks(text)) {
    const language = runnableLanguage(block.tag);
    if (block.tag === 'controls') {
      try {
        const parsed: unknown = JSON.parse(block.body);
        out.controls.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      } catch (err) {
        out.errors.push(`controls block is not JSON: ${(err as Error).message}`);
      }
    } else if (language && block.body.trim()) {
      out.runs.push({ language, code: block.body });
    } else {
      continue; // not ours: stays in the prose
    }
    prose += text.slice(last, block.start);
    last = block.end;
  }
  prose += text.slice(last);
  out.prose = prose.replace(/\n{3,}/g, '\n\n').trim();
  return out;
}

/**
 * Streams prose through while holding everything from the first fence on, so the user
 * never sees code that is about to run. The held text is settled when the round ends.
 */
export class FenceGate {
  private held = '';
  private open = false;

  constructor(private readonly pass: (text: string) => void) {}

  push(delta: string): void {
    if (this.open) {
      this.held += delta;
      return;
    }
    const text = this.held + delta;
    const fence = text.search(/```|~~~/);
    if (fence >= 0) {
      if (fence > 0) this.pass(text.slice(0, fence));
      this.held = text.slice(fence);
      this.open = true;
      return;
    }
    // A trailing backtick or tilde might begin a fence: keep it until the next delta.
    const tail = /[`~]{1,2}$/.exec(text)?.[0].length ?? 0;
    if (text.length > tail) this.pass(text.slice(0, text.length - tail));
    this.held = text.slice(text.length - tail);
  }

  /** The text held back (from the first fence on), and reset. */
  take(): string {
    const held = this.held;
    this.held = '';
    this.open = false;
    return held;
  }
}
