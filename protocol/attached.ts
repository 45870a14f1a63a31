import { z } from 'zod';

/**
 * Editor context a message carries: a selection or a file the user attached in the
 * editor. The text travels with the `send` call and goes into that turn's prompt only;
 * the log keeps the label, kind and token count (`user.message.context`), never the text.
 */

export const ATTACHED_KINDS = ['selection', 'file'] as const;
export type AttachedKind = (typeof ATTACHED_KINDS)[number];

/** Caps on what one message may attach; the Thinker's budget trims further. */
export const ATTACHED_LIMITS = {
  items: 20,
  label: 300,
  itemChars: 200_000,
  totalChars: 500_000,
} as const;

export const AttachedItemSchema = z
  .object({
    label: z
      .string()
      .trim()
      .min(1)
      .max(ATTACHED_LIMITS.label)
      .describe('what it is, e.g. "src/a.ts:10-20" or "src/a.ts"'),
    text: z.string().max(ATTACHED_LIMITS.itemChars).describe('the selected text or the file'),
    kind: z.enum(ATTACHED_KINDS),
    share: z
      .boolean()
      .optional()
      .describe("a file only: let this session's code runs read it, read-only, at shared/<label>"),
  })
  .strict();
export type AttachedItem = z.output<typeof AttachedItemSchema>;

/** Files a session's code runs may read, at most; more are refused. */
export const SHARED_FILES_LIMIT = 50;

/** Where shared files appear to a code run, relative to its working directory. */
export const SHARED_DIR = 'shared';

/**
 * Why `label` cannot name a shared file (it becomes a path under shared/), or undefined:
 * relative, `/`-separated, no empty, `.` or `..` part, no backslash, colon or NUL.
 */
export function sharedPathProblem(label: string): string | undefined {
  const parts = label.split('/');
  const bad = parts.some((p) => p === '' || p === '.' || p === '..' || /[\\:\0]/.test(p));
  return bad
    ? `${JSON.stringify(label)} cannot be shared: use a relative path like src/a.ts.`
    : undefined;
}

export const AttachedListSchema = z.array(AttachedItemSchema).max(ATTACHED_LIMITS.items);

/** What the log keeps of an attached item. */
export const AttachedRefSchema = z.object({
  label: z.string(),
  kind: z.enum(ATTACHED_KINDS),
  tokens: z.number().int().min(0).describe('its size in tokens (o200k), before any trimming'),
});
export type AttachedRef = z.output<typeof AttachedRefSchema>;

/** Why a list of attached items is refused, or undefined when it is within the caps. */
export function attachedProblem(items: readonly AttachedItem[]): string | undefined {
  if (items.length > ATTACHED_LIMITS.items)
    return `${items.length} items are attached; the limit is ${ATTACHED_LIMITS.items}.`;
  let total = 0;
  for (const item of items) {
    if (!item.label.trim()) return 'An attached item has no label.';
    if (item.label.length > ATTACHED_LIMITS.label)
      return `The label of an attached item is over ${ATTACHED_LIMITS.label} characters.`;
    if (item.text.length > ATTACHED_LIMITS.itemChars)
      return `${item.label} is ${item.text.length} characters; the limit per item is ${ATTACHED_LIMITS.itemChars}.`;
    total += item.text.length;
    if (item.share && item.kind !== 'file')
      return `${item.label} is a selection: only files can be shared with code runs.`;
    const path = item.share ? sharedPathProblem(item.label) : undefined;
    if (path) return path;
  }
  if (total > ATTACHED_LIMITS.totalChars)
    return `The attached items are ${total} characters together; the limit is ${ATTACHED_LIMITS.totalChars}.`;
  return undefined;
}
