import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCrashRounds } from '../helpers/crash-kill.js';
import { formatCrashReport } from '../helpers/crash-ledger.js';
import { tempHome } from '../helpers/runtime.js';

/** CI's share of `npm run soak`; CRASH_SEED replays a run's kill plan (it is printed). */
const KILLS = Number(process.env.CRASH_KILLS ?? 60);
const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : undefined;

test(
  `SIGKILL of cog serve and cog chat --json at ${KILLS} random moments of streamed turns: ` +
    'every event a client saw is in the log after restart, same seq, same content',
  // A guard against a hung harness, not a timing assertion.
  { timeout: 300_000 },
  async (t) => {
    const home = tempHome('cog-crash-');
    try {
      const report = await runCrashRounds({
        kills: KILLS,
        home: home.home,
        lanes: 2,
        ...(SEED !== undefined ? { seed: SEED } : {}),
      });
      for (const line of formatCrashReport(report).split('\n')) t.diagnostic(line);
      const why = `${formatCrashReport(report)}\n\n${report.problems.join('\n')}`;
      assert.ok(report.kills >= 50, `only ${report.kills} kills happened\n${why}`);
      assert.ok(report.eventsSeen > report.kills, `too few events seen to mean anything\n${why}`);
      assert.ok(report.progressSeen > 0, `no progress notification was seen\n${why}`);
      assert.equal(report.eventsChecked, report.eventsSeen, `seen events left unchecked\n${why}`);
      assert.equal(report.lost, 0, `seen events lost\n${why}`);
      assert.equal(report.renumbered, 0, `seqs naming two events\n${why}`);
      assert.equal(report.gaps, 0, `seqs not dense\n${why}`);
      assert.equal(report.anomalies, 0, why);
    } finally {
      home.cleanup();
    }
  },
);
