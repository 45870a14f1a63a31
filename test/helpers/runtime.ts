import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeEvent } from '../../protocol/events.js';
import { DEFAULT_BUDGETS, DEFAULT_PER_PRINCIPAL, type CogConfig } from '../../server/config.js';
import { DEFAULT_LIMITS } from '../../server/processes/types.js';
import { SessionCatalog } from '../../server/runtime/catalog.js';

/** A fresh COG_HOME under the system temp dir; removed by the returned cleanup. */
export function tempHome(prefix = 'cog-test-'): { home: string; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** A complete configuration for tests: offline unless an endpoint is given. */
export function testConfig(home: string, overrides: Partial<CogConfig> = {}): CogConfig {
  return {
    home,
    endpoint: undefined,
    models: { input: 'offline', thinker: 'offline', output: 'offline', memorizer: 'offline' },
    budgets: { ...DEFAULT_BUDGETS },
    pipeline: 'fast',
    approval: 'auto',
    approvalTimeoutMs: 600_000,
    ifBusy: 'queue',
    tools: 'native',
    limits: { ...DEFAULT_LIMITS },
    sandbox: 'auto',
    sensorIntervalMs: 60_000,
    llm: { idleTimeoutMs: 30_000, totalTimeoutMs: 120_000 },
    perPrincipal: { ...DEFAULT_PER_PRINCIPAL },
    ...overrides,
  };
}

/** Compact "node:type" labels of a turn's events, for order assertions. */
export function labels(events: RuntimeEvent[], turn?: string): string[] {
  return events
    .filter((e) => (turn ? e.turn === turn : true))
    .filter(
      (e) => e.type !== 'output.delta' && e.type !== 'node.context' && e.type !== 'process.output',
    )
    .map((e) => `${e.node}:${e.type}`);
}

/** Every stored event of a session, paged from the log as the `trace` tool reads it. */
export async function eventsOf(
  runtime: {
    session(
      id: string,
      owner: string,
    ): Promise<{ seq: number; read(after: number, limit: number): Promise<RuntimeEvent[]> }>;
  },
  id: string,
  owner: string,
): Promise<RuntimeEvent[]> {
  const s = await runtime.session(id, owner);
  const out: RuntimeEvent[] = [];
  for (let after = 0; ;) {
    const page = await s.read(after, 1000);
    if (page.length === 0) return out;
    out.push(...page);
    after = page.at(-1)!.seq;
  }
}

/** Where the store keeps `owner`'s session `id` (ids are per principal; see catalog.ts). */
export function sessionDir(home: string, owner: string, id: string): string {
  return join(home, 'sessions', SessionCatalog.keyFor(owner, id));
}

/** The working directory of `owner`'s session `id`. */
export function workspaceDir(home: string, owner: string, id: string): string {
  return join(home, 'workspaces', SessionCatalog.keyFor(owner, id));
}

/** Every file under `dir` with a hash of its bytes: equal digests, unchanged files. */
export function digestDir(dir: string): string {
  const lines: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    lines.push(`${name} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
  }
  return lines.join('\n');
}
