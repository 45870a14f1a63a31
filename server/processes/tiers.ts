import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Isolation, Language } from '../../protocol/events.js';
import { probeLinuxTier, type LinuxSandbox, type LinuxTier } from './linux/index.js';
import { interpreterFor } from './runners.js';
import { wasmAvailable } from './wasm/plan.js';

/** `COG_SANDBOX`: `auto` picks the strongest tier that works; a tier name insists on it. */
export type SandboxSetting = 'auto' | Isolation;
export const SANDBOX_SETTINGS: readonly SandboxSetting[] = [
  'auto',
  'bubblewrap',
  'namespaces',
  'wasm',
  'none',
];

/** Strongest first; `none` is not in it: it is never chosen, only asked for. */
const CONTAINING: readonly Exclude<Isolation, 'none'>[] = ['bubblewrap', 'namespaces', 'wasm'];

/** One tier's verdict on this machine, for `cog doctor`. */
export interface TierReport {
  tier: Isolation;
  /** Languages it can run here; empty when the tier does not work. */
  languages: Language[];
  /** Why it does not work, or why a language is missing, with what to install. */
  notes: string[];
}

/** The tier a run gets, or why it cannot run at all. */
export type TierChoice =
  { tier: Exclude<Isolation, 'none'>; linux?: LinuxSandbox } | { tier: 'none' } | { error: string };

export interface Tiers {
  /** The tier for a run of `language` under the setting, probing on first use. */
  choose(language: Language): Promise<TierChoice>;
  /** Every tier's verdict (probes all of them). */
  report(): Promise<TierReport[]>;
  /** Whether runs in tier `none` may start without a human's approval. */
  readonly allowUnsandboxed: boolean;
  close(): void;
}

const LANGS: readonly Language[] = ['python', 'javascript', 'sql'];

/**
 * Probes the isolation tiers (once each, lazily) and picks one per run: the strongest that
 * works for the language, or exactly the one `setting` names. `stateDir` holds the Linux
 * tiers' scratch directories (a fresh private one under the system temp dir if absent).
 */
export function createTiers(opts: {
  setting: SandboxSetting;
  pathEnv: string;
  stateDir?: string;
}): Tiers {
  const dir = makeDir(opts.stateDir);
  const linux = new Map<LinuxTier, Promise<Awaited<ReturnType<typeof probeLinuxTier>>>>();
  const probe = (tier: LinuxTier) => {
    let p = linux.get(tier);
    if (!p) {
      mkdirSync(join(dir, tier), { recursive: true, mode: 0o700 });
      p = probeLinuxTier(tier, join(dir, tier));
      linux.set(tier, p);
    }
    return p;
  };

  /** Whether `tier` can run `language` here; a reason when it cannot. */
  async function fits(
    tier: Exclude<Isolation, 'none'>,
    language: Language,
  ): Promise<{ ok: true; linux?: LinuxSandbox } | { ok: false; why: string }> {
    if (tier === 'wasm') {
      const w = wasmAvailable(language);
      return w.ok ? { ok: true } : { ok: false, why: w.why };
    }
    const r = await probe(tier);
    if (!r.ok) return { ok: false, why: r.why };
    const interp = interpreterFor(language, opts.pathEnv);
    if ('error' in interp) return { ok: false, why: interp.error };
    return { ok: true, linux: r.sandbox };
  }

  return {
    allowUnsandboxed: opts.setting === 'none',
    async choose(language) {
      if (opts.setting === 'none') return { tier: 'none' };
      if (opts.setting !== 'auto') {
        const f = await fits(opts.setting, language);
        if (f.ok) return { tier: opts.setting, ...(f.linux && { linux: f.linux }) };
        return {
          error: `COG_SANDBOX=${opts.setting}, but that tier cannot run ${language} here: ${f.why}. Run \`cog doctor\` to see which tiers work.`,
        };
      }
      for (const tier of CONTAINING) {
        const f = await fits(tier, language);
        if (f.ok) return { tier, ...(f.linux && { linux: f.linux }) };
      }
      return { tier: 'none' };
    },
    async report() {
      const out: TierReport[] = [];
      for (const tier of CONTAINING) {
        const languages: Language[] = [];
        const notes = new Set<string>();
        for (const language of LANGS) {
          const f = await fits(tier, language);
          if (f.ok) languages.push(language);
          else notes.add(languages.length || tier === 'wasm' ? `${language}: ${f.why}` : f.why);
        }
        out.push({ tier, languages, notes: [...notes] });
      }
      out.push({
        tier: 'none',
        languages: [...LANGS],
        notes: [
          'not a sandbox: code runs with your full rights; used only with COG_SANDBOX=none, or after you approve a run no tier could contain',
        ],
      });
      return out;
    },
    close() {
      if (!opts.stateDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function makeDir(stateDir: string | undefined): string {
  if (stateDir) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return stateDir;
  }
  return mkdtempSync(join(tmpdir(), 'cog-sandbox-'));
}
