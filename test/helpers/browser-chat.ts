import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { CogProcess } from './cog-process.js';

/** Waits for `cog serve` to print a line matching `pattern` on stderr; the match. */
export async function stderrMatch(
  p: CogProcess,
  pattern: RegExp,
  after = 0,
  timeoutMs = 10_000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(p.stderr().slice(after));
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} on stderr:\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The newest one-time sign-in link `cog serve` printed after `after` characters of stderr. */
export async function loginLink(p: CogProcess, after = 0): Promise<string> {
  const m = await stderrMatch(p, /chat in a browser: (http:\/\/\S+\/login\?code=\S+)/, after);
  return m[1] ?? '';
}

/** Records every CSP violation of the page (checked at the end: there must be none). */
export async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(`
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(e.violatedDirective + ' ' + e.blockedURI),
    );`);
  return () => page.evaluate<string[]>('window.__csp');
}

/** Sends `text` from the composer. */
export async function say(page: Page, text: string): Promise<void> {
  const input = page.locator('.composer-input');
  await input.fill(text);
  await input.press('Enter');
}

/** Approves the run waiting in the newest turn, after checking its card shows `code`. */
export async function approveRun(page: Page, code: RegExp): Promise<void> {
  const card = page.locator('.turn').last().locator('.proc-approve');
  await card.waitFor({ timeout: 30_000 });
  const shown = await page.locator('.turn').last().locator('.proc-code').textContent();
  assert.match(shown ?? '', code);
  await card.click();
}

/** The text of the newest finished reply. */
export async function lastReply(page: Page, timeoutMs = 30_000): Promise<string> {
  const reply = page.locator('.turn').last().locator('.msg.assistant:not(.streaming) .md');
  await reply.waitFor({ timeout: timeoutMs });
  return (await reply.textContent()) ?? '';
}
