import type { AttachedKind } from './attached.js';

/**
 * One chip above the composer: what the host holds attached for the next message. The
 * webview gets names only, never the text: it removes a chip by its `id`.
 */
export interface AttachmentView {
  /** The host's id for it (letters, digits, _ and -). */
  id: string;
  /** Short: the file's name and the line range, "a.ts:10-20". */
  label: string;
  /** The workspace-relative path, shown as the chip's tooltip. */
  title: string;
  kind: AttachedKind;
}
