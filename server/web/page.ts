import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { renderWebviewHtml, webviewCsp } from '../../protocol/webview-html.js';

/** The bundle files the page loads (esbuild.mjs writes them to dist/web/). */
const ASSETS: Record<string, string> = {
  '/app/main.js': 'text/javascript; charset=utf-8',
  '/app/main.css': 'text/css; charset=utf-8',
};

/**
 * dist/web/ beside the bundle (`cog` runs from dist/), or from the sources' place in the
 * repository (tests run the server from source).
 */
function assetDir(): string | undefined {
  for (const rel of ['./web/', '../../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}main.js`)) return dir;
  }
  return undefined;
}

/** Headers every page and asset carries: no sniffing, no framing, no referrer, no caching. */
const BASE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
} as const;

/** The chat panel, as in VS Code, with the same CSP (sent as a header too). */
export function sendChatPage(res: ServerResponse): void {
  const nonce = randomBytes(18).toString('base64url');
  const opts = {
    cspSource: "'self'",
    nonce,
    scriptUri: '/app/main.js',
    styleUri: '/app/main.css',
    connect: "'self'" as const,
  };
  send(res, 200, 'text/html; charset=utf-8', renderWebviewHtml(opts), {
    // frame-ancestors works only as a header (a <meta> policy ignores it).
    'Content-Security-Policy': `${webviewCsp(opts)}; frame-ancestors 'none'`,
  });
}

/**
 * The page a browser that is not signed in sees: how to sign in, in words. No script;
 * the only link is the issuer's sign-in, when there is one.
 */
export function sendSignInPage(
  res: ServerResponse,
  how: { oidc: boolean; problem?: string },
  status = 200,
): void {
  const problem = how.problem ? `<p class="problem">${escapeHtml(how.problem)}</p>` : '';
  const body = how.oidc
    ? `<p>Sign in with your organisation's account to chat with Cog.</p>
<p><a class="sign-in" href="/auth/login">Sign in</a></p>`
    : `<p>To chat with Cog here, open the sign-in link that <code>cog serve</code> printed in its terminal. Each link works once; <code>cog serve</code> prints a new one after it is used.</p>`;
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/main.css">
<title>Cog: sign in</title>
</head>
<body class="signed-out">
<main class="sign-in-page">
<h1>Cog</h1>
${problem}
${body}
</main>
</body>
</html>
`;
  send(res, status, 'text/html; charset=utf-8', html, {
    'Content-Security-Policy':
      "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
}

/** Serves one of the bundle's files; false when `path` is not one of them. */
export async function sendAsset(res: ServerResponse, path: string): Promise<boolean> {
  const type = ASSETS[path];
  if (!type) return false;
  const dir = assetDir();
  if (!dir) {
    send(res, 404, 'text/plain; charset=utf-8', 'The chat page is not built: run npm run build.');
    return true;
  }
  const file = await readFile(`${dir}${path.slice('/app/'.length)}`);
  send(res, 200, type, file);
  return true;
}

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...BASE_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
