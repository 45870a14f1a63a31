import type { MemoryState } from '../../protocol/events.js';
import type { SessionMeta } from '../store/types.js';

/** A session's title at most: a listing's line, not a paragraph. */
export const MAX_TITLE_CHARS = 200;
/** The automatic titles are shorter: they have to read well in a narrow session bar. */
const AUTO_TITLE_CHARS = 60;

function clip(text: string, max: number): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A new session is titled after its first message, so listings read well from the start. */
export function firstMessageTitle(text: string): string {
  return clip(text, AUTO_TITLE_CHARS);
}

/**
 * The title the Memorizer's topic gives the session after an update, or undefined. Only a
 * title Cog made from the first message is replaced (never the user's, nor one it already
 * took from a topic), and only by a topic that has settled: the same in this update and
 * the one before, so one message's passing subject does not rename the session.
 */
export function topicTitle(
  meta: SessionMeta,
  prev: MemoryState,
  next: MemoryState,
): string | undefined {
  if (meta.titleSource !== 'first-message') return undefined;
  const topic = next.topic?.trim();
  if (!topic || topic !== prev.topic?.trim()) return undefined;
  const title = clip(topic.charAt(0).toUpperCase() + topic.slice(1), AUTO_TITLE_CHARS);
  if (!title || title.toLowerCase() === meta.title?.trim().toLowerCase()) return undefined;
  return title;
}
