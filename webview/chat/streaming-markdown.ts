import { h } from '../dom.js';
import { renderMarkdown } from '../markdown.js';

/**
 * The assistant's text while it streams: deltas accumulate and the markdown is rendered
 * at most once per frame, and less often when rendering gets slow (a long reply), so the
 * panel keeps its frame rate whatever the token rate. `finish` renders at once.
 */
export class StreamingMarkdown {
  readonly el = h('div', { class: 'md' });
  private text = '';
  private final = false;
  private frame: number | undefined;
  private notBefore = 0;

  /** `decorate`: adds to each render before it is shown (the code blocks' buttons). */
  constructor(
    private readonly onRendered: () => void,
    private readonly decorate?: (rendered: DocumentFragment) => void,
  ) {}

  get value(): string {
    return this.text;
  }

  append(delta: string): void {
    if (this.final) return;
    this.text += delta;
    this.schedule();
  }

  /**
   * The final text replaces whatever streamed; later deltas are ignored. With `defer`,
   * the plain text shows until the deferrer calls for the markdown.
   */
  finish(text: string, defer?: (render: () => void) => void): void {
    this.final = true;
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.text = text;
    if (!defer) return this.render();
    this.el.textContent = text;
    this.el.classList.add('deferred');
    defer(() => {
      this.el.classList.remove('deferred');
      this.render();
    });
  }

  private schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame((now) => {
      this.frame = undefined;
      if (this.final) return;
      if (now < this.notBefore) {
        this.schedule();
        return;
      }
      const started = performance.now();
      this.render();
      // Rendering is O(text): past a few ms per pass, give the frame back in proportion.
      const took = performance.now() - started;
      this.notBefore = took > 4 ? now + took * 3 : 0;
    });
  }

  private render(): void {
    const rendered = renderMarkdown(this.text);
    this.decorate?.(rendered);
    this.el.replaceChildren(rendered);
    this.onRendered();
  }
}
