import type { ProcessInfo, RuntimeEvent } from '../protocol/events.js';

/** Output kept per process for its cards; older output is dropped from the front. */
export const OUTPUT_CAP = 200_000;

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

export type ProcessChange =
  { kind: 'info'; info: ProcessInfo } | { kind: 'output'; chunk: OutputChunk };

interface Entry {
  info?: ProcessInfo;
  output: OutputChunk[];
  chars: number;
  trimmed: boolean;
  listeners: Set<(change: ProcessChange) => void>;
}

/**
 * What the session's events say about each process. Process cards render from here, so
 * a card shown before its process's first event, or twice, stays in step.
 */
export class ProcessRegistry {
  private entries = new Map<string, Entry>();

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = { output: [], chars: 0, trimmed: false, listeners: new Set() };
      this.entries.set(id, e);
    }
    return e;
  }

  reset(): void {
    this.entries.clear();
  }

  apply(event: RuntimeEvent): void {
    if (event.type === 'process.updated') {
      const e = this.entry(event.process.id);
      e.info = event.process;
      this.notify(e, { kind: 'info', info: event.process });
    } else if (event.type === 'process.output') {
      const e = this.entry(event.process);
      const chunk: OutputChunk = { stream: event.stream, text: String(event.text) };
      e.output.push(chunk);
      e.chars += chunk.text.length;
      while (e.chars > OUTPUT_CAP && e.output.length > 1) {
        e.chars -= e.output.shift()?.text.length ?? 0;
        e.trimmed = true;
      }
      this.notify(e, { kind: 'output', chunk });
    }
  }

  /**
   * A run known from a page's base rather than from its events: what it printed before the
   * page is not here, so a card says that output is missing rather than show none.
   */
  seed(info: ProcessInfo): void {
    const e = this.entry(info.id);
    e.info = info;
    if (info.outputBytes > 0 && e.output.length === 0) e.trimmed = true;
    this.notify(e, { kind: 'info', info });
  }

  get(id: string): { info?: ProcessInfo; output: readonly OutputChunk[]; trimmed: boolean } {
    const e = this.entry(id);
    return { ...(e.info ? { info: e.info } : {}), output: e.output, trimmed: e.trimmed };
  }

  /** Returns the unsubscribe function. */
  subscribe(id: string, listener: (change: ProcessChange) => void): () => void {
    const e = this.entry(id);
    e.listeners.add(listener);
    return () => e.listeners.delete(listener);
  }

  private notify(e: Entry, change: ProcessChange): void {
    for (const listener of [...e.listeners]) listener(change);
  }
}
