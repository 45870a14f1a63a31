/**
 * Limits of the webview's code-block actions (Copy, Insert at Cursor, New File), shared by
 * the webview and the host's schema. Zod-free, so the webview bundle can import it.
 */

/** The most code one action carries (a code block's text). */
export const MAX_CODE_ACTION = 200_000;

/** A fence's language name as webview/markdown.ts keeps it (`ts`, `c++`, `objective-c`). */
export const CODE_LANGUAGE = /^[\w+#.-]{1,32}$/;
