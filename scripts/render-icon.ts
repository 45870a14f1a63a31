/**
 * Renders the marketplace icon (media/icon.png, 128×128) from the activity-bar glyph
 * (media/cog.svg: a chat bubble holding the node pipeline), white on Cog's blue, in the
 * same headless Chromium the tests use. Run after changing the glyph:
 *   node --import tsx scripts/render-icon.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/helpers/chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SIZE = 128;
const glyph = readFileSync(join(root, 'media', 'cog.svg'), 'utf8')
  .replace(/width="24" height="24"/, `width="${SIZE * 0.72}" height="${SIZE * 0.72}"`)
  .replace('stroke-width="1.6"', 'stroke-width="1.8"');

const browser = await launchBrowser({ viewport: { width: SIZE, height: SIZE } });
try {
  await browser.page.setContent(
    `<body style="margin:0;background:transparent">
      <div style="width:${SIZE}px;height:${SIZE}px;border-radius:${SIZE * 0.2}px;background:#1f5fa8;
        color:#fff;display:flex;align-items:center;justify-content:center">${glyph}</div></body>`,
  );
  await browser.page.screenshot({
    path: join(root, 'media', 'icon.png'),
    omitBackground: true,
    clip: { x: 0, y: 0, width: SIZE, height: SIZE },
  });
} finally {
  await browser.close();
}
