/** Room kept for the truncation marker inside the model's byte budget. */
const MARKER_ROOM = 100;

/**
 * A process's combined stdout+stderr, bounded twice: `maxKept` bytes are kept (for the
 * UI and `output()`), and `modelText()` fits in `modelBytes`. The model gets the head and
 * the tail, because a traceback is at the end and what the program set out to do is at
 * the start; the tail comes from a rolling window, so it is the real end of the output
 * even when the kept copy stopped at its cap.
 */
export class OutputBuffer {
  /** Bytes the process wrote, including those no copy kept. */
  bytes = 0;
  private kept = '';
  private keptBytes = 0;
  private tail = '';
  private readonly tailBytes: number;

  constructor(
    private readonly maxKept: number,
    private readonly modelBytes: number,
  ) {
    this.tailBytes = Math.max(0, Math.floor((modelBytes - MARKER_ROOM) / 2));
  }

  /**
   * Records decoded text (`rawBytes` long before decoding) and returns the part that was
   * kept, which is what should be streamed: '' once the cap is reached.
   */
  push(text: string, rawBytes: number): string {
    this.bytes += rawBytes;
    this.tail += text;
    if (Buffer.byteLength(this.tail) > 2 * this.tailBytes) {
      this.tail = lastBytes(this.tail, this.tailBytes);
    }
    const room = this.maxKept - this.keptBytes;
    if (room <= 0) return '';
    const size = Buffer.byteLength(text);
    const part = size <= room ? text : firstBytes(text, room);
    this.kept += part;
    this.keptBytes += size <= room ? size : Buffer.byteLength(part);
    return part;
  }

  /** True when the kept copy is missing some of the output. */
  get truncated(): boolean {
    return this.bytes > this.keptBytes;
  }

  /** Everything kept, up to `maxKept` bytes. */
  text(): string {
    return this.kept;
  }

  /** What the model reads: at most `modelBytes`, with a marker saying what was cut. */
  modelText(): string {
    if (!this.truncated && this.keptBytes <= this.modelBytes) return this.kept;
    const head = firstBytes(this.kept, this.modelBytes - MARKER_ROOM - this.tailBytes);
    const tail = lastBytes(this.tail, this.tailBytes);
    const shown = Buffer.byteLength(head) + Buffer.byteLength(tail);
    const marker = `\n[output truncated: showing ${formatBytes(shown)} of ${formatBytes(this.bytes)}]\n`;
    return head + marker + tail;
  }
}

/** "512 B", "16 KiB", "2.3 MiB", "1 GiB": sizes for people, one decimal at most. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}

const isContinuation = (byte: number | undefined): boolean =>
  byte !== undefined && (byte & 0xc0) === 0x80;

/** The longest prefix of `text` within `n` UTF-8 bytes, never splitting a character. */
function firstBytes(text: string, n: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= n) return text;
  let end = Math.max(0, n);
  while (end > 0 && isContinuation(buf[end])) end--;
  return buf.subarray(0, end).toString();
}

/** The longest suffix of `text` within `n` UTF-8 bytes, never splitting a character. */
function lastBytes(text: string, n: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= n) return text;
  let start = buf.length - Math.max(0, n);
  while (start < buf.length && isContinuation(buf[start])) start++;
  return buf.subarray(start).toString();
}
