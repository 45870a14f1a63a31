import { ATTACHED_LIMITS, type AttachedItem, type AttachedKind } from '../protocol/attached.js';
import type { AttachmentView } from '../protocol/attachment-view.js';
import { Emitter } from './emitter.js';

/**
 * What the user attached for the next message, held by the host: the webview sees labels
 * and ids only. A selection's text is captured when it is added (the editor may change
 * after); a file is read when the message is sent, so it goes as it is then.
 */

export interface FileAttachment {
  kind: 'file';
  /** The file's URI, as a string: the reader reads it at send time. */
  uri: string;
  /** Workspace-relative path. */
  path: string;
}

export interface SelectionAttachment {
  kind: 'selection';
  path: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  text: string;
}

export type Attachment = FileAttachment | SelectionAttachment;

/** Reads a file's bytes (vscode.workspace.fs in the extension, node:fs in a test). */
export type ReadBytes = (uri: string) => Promise<Uint8Array>;

/** An attachment that cannot go (binary, too large): its message says which and what to do. */
export class AttachmentError extends Error {
  override readonly name = 'AttachmentError';
  readonly code = 'attachment_refused';
}

const MAX_FILE_BYTES = ATTACHED_LIMITS.itemChars;

function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/** What the model sees as the item's label: the relative path, with lines for a selection. */
function labelOf(a: Attachment): string {
  const lines = a.kind === 'selection' ? `:${a.startLine}-${a.endLine}` : '';
  return `${a.path}${lines}`.slice(0, ATTACHED_LIMITS.label);
}

export class Attachments {
  private readonly items = new Map<string, Attachment>();
  private next = 1;
  private readonly changed = new Emitter<void>();
  /** The list changed: the chips are redrawn. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly read: ReadBytes) {}

  get size(): number {
    return this.items.size;
  }

  /** Adds one; a file already attached is not added twice. Returns its id. */
  add(a: Attachment): string {
    if (a.kind === 'selection' && a.text.length > ATTACHED_LIMITS.itemChars) {
      throw new AttachmentError(
        `The selection is ${a.text.length} characters; Cog attaches at most ${ATTACHED_LIMITS.itemChars}. Select less.`,
      );
    }
    if (a.kind === 'file') {
      for (const [id, held] of this.items)
        if (held.kind === 'file' && held.uri === a.uri) return id;
    }
    if (this.items.size >= ATTACHED_LIMITS.items) {
      throw new AttachmentError(
        `${ATTACHED_LIMITS.items} items are attached already: remove one before adding another.`,
      );
    }
    const id = `a${this.next++}`;
    this.items.set(id, a);
    this.changed.fire();
    return id;
  }

  remove(id: string): void {
    if (this.items.delete(id)) this.changed.fire();
  }

  /** The chips: short labels, the path as the title. */
  views(): AttachmentView[] {
    return [...this.items].map(([id, a]) => ({
      id,
      label:
        a.kind === 'selection'
          ? `${baseName(a.path)}:${a.startLine}-${a.endLine}`
          : baseName(a.path),
      title: labelOf(a),
      kind: a.kind,
    }));
  }

  /**
   * What goes with the message: each attachment's text now (files read, size-capped,
   * binary refused), with the ids taken, to forget them once the message went. Throws an
   * `AttachmentError` naming the file when one cannot go; nothing is forgotten then.
   */
  async resolve(): Promise<{ ids: string[]; items: AttachedItem[] }> {
    const ids: string[] = [];
    const items: AttachedItem[] = [];
    let total = 0;
    for (const [id, a] of this.items) {
      const text = a.kind === 'selection' ? a.text : await this.readText(a);
      total += text.length;
      if (total > ATTACHED_LIMITS.totalChars) {
        throw new AttachmentError(
          `The attached items are over ${ATTACHED_LIMITS.totalChars} characters together: remove some chips and send again.`,
        );
      }
      ids.push(id);
      items.push({ label: labelOf(a), text, kind: a.kind as AttachedKind });
    }
    return { ids, items };
  }

  /**
   * Takes what is going out (a chip added meanwhile stays): its chips go at once, so a
   * message sent while the turn runs does not carry them again. `putBack` undoes it when
   * the send fails.
   */
  take(ids: readonly string[]): [string, Attachment][] {
    const taken: [string, Attachment][] = [];
    for (const id of ids) {
      const a = this.items.get(id);
      if (a && this.items.delete(id)) taken.push([id, a]);
    }
    if (taken.length) this.changed.fire();
    return taken;
  }

  /** Restores what `take` took, before anything added since. */
  putBack(taken: readonly [string, Attachment][]): void {
    if (!taken.length) return;
    const rest = [...this.items];
    this.items.clear();
    for (const [id, a] of [...taken, ...rest]) this.items.set(id, a);
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  private async readText(a: FileAttachment): Promise<string> {
    let bytes: Uint8Array;
    try {
      bytes = await this.read(a.uri);
    } catch {
      throw new AttachmentError(
        `${a.path} cannot be read (moved or deleted?): remove its chip and send again.`,
      );
    }
    if (bytes.byteLength > MAX_FILE_BYTES) {
      throw new AttachmentError(
        `${a.path} is ${Math.ceil(bytes.byteLength / 1024)} KB; Cog attaches files up to ${MAX_FILE_BYTES / 1000} KB. Attach a selection of it instead.`,
      );
    }
    const binary = () =>
      new AttachmentError(
        `${a.path} is a binary file; Cog attaches text only. Remove its chip and send again.`,
      );
    if (bytes.subarray(0, 8192).includes(0)) throw binary();
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw binary();
    }
  }
}
