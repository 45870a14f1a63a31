import DOMPurify, { type Config } from 'dompurify';
import { Marked } from 'marked';
import { highlightCode } from './highlight.js';

/**
 * Model text as markdown, made inert. Two layers, either of which would do on its own:
 * marked renders raw HTML in the text as visible text (never as markup) and images as
 * plain links (nothing remote is loaded), and DOMPurify then keeps only a short list of
 * tags and attributes, links to http(s)/mailto only. The result is a DocumentFragment, so
 * no code here assigns `innerHTML`.
 */

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => escapes[c] ?? c);

const LANG = /^[\w+#.-]{1,32}$/;

/** Whether a code block's source has its closing fence (an indented block always has). */
function fenceClosed(raw: string): boolean {
  const open = /^ {0,3}(`{3,}|~{3,})/.exec(raw);
  if (!open) return true;
  const lines = raw.trimEnd().split('\n');
  if (lines.length < 2) return false;
  const last = lines[lines.length - 1].trim();
  return last.length >= open[1].length && [...last].every((ch) => ch === open[1][0]);
}

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ href, text }) =>
      `<a href="${escapeHtml(href)}">${escapeHtml(`image: ${text || href}`)}</a>`,
    checkbox: ({ checked }) => (checked ? '☑ ' : '☐ '),
    code: ({ text, lang, escaped, raw }) => {
      const name = (lang ?? '').trim().split(/\s+/)[0] ?? '';
      const safe = LANG.test(name) ? name : '';
      // highlight.js escapes the text it wraps; DOMPurify below keeps only its classes.
      const highlighted = escaped ? undefined : highlightCode(text, safe.toLowerCase());
      const body = highlighted ?? (escaped ? text : escapeHtml(text));
      const label = safe ? `<div class="code-lang">${escapeHtml(safe)}</div>` : '';
      const cls = safe ? ` class="language-${escapeHtml(safe)}"` : '';
      // A fence still streaming has no closing line yet: no buttons act on half the code.
      const block = fenceClosed(raw) ? 'code-block' : 'code-block code-open';
      return `<div class="${block}">${label}<pre><code${cls}>${body}</code></pre></div>`;
    },
  },
});

const TAGS = [
  'a',
  'p',
  'br',
  'hr',
  'em',
  'strong',
  'del',
  's',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'div',
  'span',
];

const CONFIG: Config & { RETURN_DOM_FRAGMENT: true } = {
  ALLOWED_TAGS: TAGS,
  ALLOWED_ATTR: ['href', 'title', 'class', 'align', 'start'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

/**
 * Only the classes this file's renderer and highlight.js write survive, each word checked:
 * ours on the elements we write them on, highlight.js's scopes (`hljs-title function_`,
 * a sub-language's `language-xml`) on spans.
 */
const OWN_CLASS: Record<string, RegExp> = {
  DIV: /^(?:code-block|code-open|code-lang)$/,
  CODE: /^language-[\w+#.-]{1,32}$/,
  SPAN: /^(?:hljs-[a-z][a-z-]{0,40}|[a-z]{1,40}_{1,3}|language-[\w+#.-]{1,32})$/,
};
const classAllowed = (tag: string, value: string) => {
  const words = value.split(' ');
  const rule = OWN_CLASS[tag];
  return !!rule && words.length <= 4 && words.every((w) => rule.test(w));
};

const purify = DOMPurify(window);
purify.addHook('uponSanitizeAttribute', (node, data) => {
  if (data.attrName === 'class' && !classAllowed(node.nodeName, data.attrValue))
    data.keepAttr = false;
  if (data.attrName === 'align' && !/^(?:left|right|center)$/.test(data.attrValue))
    data.keepAttr = false;
  if (data.attrName === 'start' && !(node.nodeName === 'OL' && /^\d{1,6}$/.test(data.attrValue)))
    data.keepAttr = false;
});
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer nofollow');
    if (node.hasAttribute('href')) node.setAttribute('target', '_blank');
  }
  // Code and tables scroll sideways in a narrow panel: focusable, so keys scroll them too.
  if (node.nodeName === 'PRE' || node.nodeName === 'TABLE') node.setAttribute('tabindex', '0');
});

/** Markdown → a sanitised fragment ready to append. */
export function renderMarkdown(text: string): DocumentFragment {
  let html: string;
  try {
    html = marked.parse(text) as string;
  } catch {
    // marked gave up on this input: show it as it came, as text.
    const fragment = document.createDocumentFragment();
    fragment.append(document.createTextNode(text));
    return fragment;
  }
  return purify.sanitize(html, CONFIG);
}
