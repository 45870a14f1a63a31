/**
 * The chat panel's HTML. A pure function (no `vscode` import) so the extension host, the
 * browser page `cog serve` serves and the webview test harness serve the same page. The
 * policy: nothing but the bundle's own script (by nonce) and stylesheet (from the
 * resource origin), images only from there or inline data, no eval, no inline scripts or
 * styles, no frames, forms, network. The browser page alone may reach its own origin
 * (`connect: 'self'`): its host talks MCP to the server that served it.
 */

export interface WebviewHtmlOptions {
  /** `webview.cspSource`: the origin the extension's resources are served from. */
  cspSource: string;
  /** A fresh random nonce per render (base64/base64url, at least 16 characters). */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** `'self'` for the browser page; the VS Code webview reaches nothing. */
  connect?: "'self'";
}

const NONCE = /^[A-Za-z0-9+/_-]{16,128}={0,2}$/;
/**
 * A CSP source list: hosts, schemes, wildcards and quoted keywords (VS Code's own
 * cspSource is `'self' https://*.vscode-cdn.net`). No semicolons or commas, which would
 * start another directive.
 */
const TOKEN = "(?:'[a-z-]+'|[A-Za-z0-9.:/*_+-]+)";
const SOURCE = new RegExp(`^${TOKEN}(?: ${TOKEN})*$`);

const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function check(opts: WebviewHtmlOptions): void {
  if (!NONCE.test(opts.nonce)) throw new Error('webview nonce must be 16+ base64 characters');
  if (!SOURCE.test(opts.cspSource)) throw new Error('webview cspSource is not a CSP source');
}

/** The Content-Security-Policy of the page (also sent as a header by the test harness). */
export function webviewCsp(
  opts: Pick<WebviewHtmlOptions, 'cspSource' | 'nonce' | 'connect'>,
): string {
  check({ ...opts, scriptUri: '', styleUri: '' });
  const { cspSource, nonce } = opts;
  const connect = opts.connect === "'self'" ? "'self'" : "'none'";
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `connect-src ${connect}`,
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function renderWebviewHtml(opts: WebviewHtmlOptions): string {
  const csp = webviewCsp(opts);
  const nonce = escapeAttr(opts.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeAttr(opts.styleUri)}">
<title>Cog</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${escapeAttr(opts.scriptUri)}"></script>
</body>
</html>
`;
}
