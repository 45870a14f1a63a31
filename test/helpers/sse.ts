/** One server-sent event as the MCP transport writes them. */
export interface SseEvent {
  id?: string;
  data: string;
}

/**
 * Reads SSE events from a fetch body until `stop` says enough (or the stream ends),
 * then releases the reader. Returns every event read.
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  stop: (e: SseEvent, all: SseEvent[]) => boolean,
): Promise<SseEvent[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return events;
      buf += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const e: SseEvent = { data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id:')) e.id = line.slice(3).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (e.id === undefined && data.length === 0) continue; // a keep-alive comment
        e.data = data.join('\n');
        events.push(e);
        if (stop(e, events)) return events;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
