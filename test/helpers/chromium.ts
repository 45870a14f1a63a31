/** Debian's Chromium, headless, as every browser test here starts it. */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** COG_CHROMIUM, else `chromium` on PATH (test/setup/install.sh installs Debian's). */
export function chromiumPath(): string {
  if (process.env.COG_CHROMIUM) return process.env.COG_CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this one
    }
  }
  throw new Error('chromium is not on PATH; run: npm run setup:test');
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/**
 * Headless Chromium with a throw-away profile (also its HOME), and the flags that keep it
 * off the network: no background requests, no component updates, no sync.
 */
export async function launchBrowser({
  headless = true,
  viewport = { width: 1400, height: 900 },
} = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'cog-code-server-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless,
    viewport,
    env: { ...process.env, HOME: profile },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
