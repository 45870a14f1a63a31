// highlight.js types its core but not its per-language modules (lib/languages/*.js).
declare module 'highlight.js/lib/languages/*' {
  import type { LanguageFn } from 'highlight.js';
  const language: LanguageFn;
  export default language;
}
