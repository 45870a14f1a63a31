import { describeIsolation, LANGUAGES } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import { createTiers } from '../processes/tiers.js';

/**
 * `cog doctor`: which isolation tiers work on this machine, which one each language gets,
 * and for the others why not, with what to install. Exits 1 when some language would get
 * no sandbox (so its runs would need approval as uncontained), 0 otherwise.
 */
export async function runDoctor(config: CogConfig, opts: { json: boolean }): Promise<number> {
  const tiers = createTiers({ setting: config.sandbox, pathEnv: process.env.PATH ?? '' });
  try {
    const report = await tiers.report();
    const chosen: Record<string, string> = {};
    for (const language of LANGUAGES) {
      const c = await tiers.choose(language);
      chosen[language] = 'error' in c ? `refused: ${c.error}` : c.tier;
    }
    const uncontained = Object.values(chosen).some((t) => t === 'none' || t.startsWith('refused'));
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ setting: config.sandbox, chosen, tiers: report })}\n`,
      );
      return uncontained ? 1 : 0;
    }
    const out: string[] = [`Isolation tiers here (COG_SANDBOX=${config.sandbox}):`, ''];
    for (const r of report) {
      const mark = r.tier === 'none' ? '  ' : r.languages.length ? 'ok' : '--';
      const langs =
        r.tier === 'none' ? '' : r.languages.length ? r.languages.join(', ') : 'unavailable';
      out.push(`  ${mark} ${r.tier.padEnd(11)} ${langs}`);
      for (const note of r.notes) out.push(`       ${note}`);
    }
    out.push('', 'Each run gets:');
    for (const [language, tier] of Object.entries(chosen)) {
      const words =
        tier === 'bubblewrap' || tier === 'namespaces' || tier === 'wasm' || tier === 'none'
          ? describeIsolation(tier)
          : tier;
      out.push(
        `  ${language.padEnd(11)} ${tier.startsWith('refused') ? words : `${tier}: ${words}`}`,
      );
    }
    if (uncontained) {
      out.push(
        '',
        'Some language has no sandbox here: its runs always ask first and say so. Install bubblewrap (apt-get install bubblewrap), or run `npm install` so the WebAssembly runners are present.',
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return uncontained ? 1 : 0;
  } finally {
    tiers.close();
  }
}
