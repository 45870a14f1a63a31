import { z } from 'zod';

/**
 * Interactive controls the Thinker may show in the chat. Everything the model produces
 * passes `parseControls` before it reaches a renderer: unknown or malformed controls are
 * dropped (and reported), never rendered raw.
 */

const Text = (max: number) => z.string().trim().min(1).max(max);
/** Action names are identifiers, not free text: they come back into the session verbatim. */
const ActionName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'action must be letters, digits, _ . : or -');
const Cell = z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]);

const ButtonShape = {
  type: z.literal('button'),
  label: Text(80),
  action: ActionName,
  data: z.record(z.string(), z.unknown()).optional(),
};
const TableShape = {
  type: z.literal('table'),
  title: Text(120).optional(),
  columns: z.array(Text(80)).min(1).max(50),
};
const ProcessCardShape = { type: z.literal('process'), processId: Text(64) };

export const ButtonControlSchema = z.object(ButtonShape).strict();

export const TableControlSchema = z
  .object({
    ...TableShape,
    /** Rows are arrays aligned with `columns`, or objects keyed by column name. */
    rows: z.array(z.union([z.array(Cell), z.record(z.string(), Cell)])).max(10_000),
  })
  .strict()
  .transform((t) => ({
    ...t,
    rows: t.rows.map((r) => (Array.isArray(r) ? r : t.columns.map((c) => r[c] ?? null))),
  }));

export const ProcessCardControlSchema = z.object(ProcessCardShape).strict();

/** What the Thinker may write: checked strictly, table rows in either form. */
export const ControlSchema = z.discriminatedUnion('type', [
  ButtonControlSchema,
  TableControlSchema,
  ProcessCardControlSchema,
]);

/**
 * A control as it crosses the wire once parsed: table rows are arrays aligned with the
 * columns. What events and tool results carry, and what a client parses them with.
 */
export const ControlViewSchema = z.discriminatedUnion('type', [
  z.object(ButtonShape),
  z.object({ ...TableShape, rows: z.array(z.array(Cell)).max(10_000) }),
  z.object(ProcessCardShape),
]);

export type ButtonControl = z.infer<typeof ButtonControlSchema>;
export type TableControl = z.output<typeof TableControlSchema>;
export type ProcessCardControl = z.infer<typeof ProcessCardControlSchema>;
export type Control = z.output<typeof ControlViewSchema>;

/** A control click coming back into its session. */
export const ActionSchema = z
  .object({
    action: ActionName,
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type Action = z.infer<typeof ActionSchema>;

export interface ParsedControls {
  controls: Control[];
  /** One human-readable reason per dropped control. */
  rejected: string[];
}

/** Validates each candidate on its own so one bad control does not sink the others. */
export function parseControls(candidates: unknown): ParsedControls {
  const list = Array.isArray(candidates) ? candidates : [candidates];
  const controls: Control[] = [];
  const rejected: string[] = [];
  list.forEach((candidate, i) => {
    const result = ControlSchema.safeParse(candidate);
    if (result.success) {
      controls.push(result.data);
    } else {
      const issue = result.error.issues[0];
      const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
      rejected.push(`control ${i}: ${issue?.message ?? 'invalid'}${where}`);
    }
  });
  return { controls, rejected };
}
