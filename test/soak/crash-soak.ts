/**
 * `npm run soak`: the crash test at length. SIGKILLs `cog serve` and `cog chat --json`
 * 1,000 times (SOAK_KILLS) at random moments of streamed turns, checks every event a
 * client saw against the log after each restart, prints progress and a final table, and
 * exits 1 on any loss. SOAK_SEED replays a kill plan, SOAK_LANES sets the parallel homes.
 * A failing run keeps its COG_HOME for inspection and says where it is.
 */
import { runCrashRounds } from '../helpers/crash-kill.js';
import { formatCrashReport } from '../helpers/crash-ledger.js';
import { tempHome } from '../helpers/runtime.js';

const kills = Number(process.env.SOAK_KILLS ?? 1000);
const lanes = Number(process.env.SOAK_LANES ?? 2);
const seed = process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) : undefined;
const every = Math.max(1, Math.round(kills / 40));

const home = tempHome('cog-soak-');
const t0 = Date.now();
let rounds = 0;
console.log(`crash soak: ${kills} kills over ${lanes} lane(s) in ${home.home}`);
const report = await runCrashRounds({
  kills,
  home: home.home,
  lanes,
  ...(seed !== undefined ? { seed } : {}),
  log: (line) => {
    const isRound = / round \d+\//.test(line);
    if (isRound) rounds++;
    const bad = /lost [1-9]|renumbered [1-9]/.test(line);
    if (!isRound || bad || rounds % every === 0 || rounds === kills) {
      const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(5);
      console.log(`${s}s ${isRound ? `[${rounds}/${kills}] ` : ''}${line}`);
    }
  },
});
console.log(`\n${formatCrashReport(report)}`);
const failed =
  report.lost + report.renumbered + report.gaps + report.anomalies > 0 || report.kills < kills;
if (report.problems.length) console.log(`\nproblems:\n${report.problems.join('\n')}`);
if (failed) {
  console.log(`\nFAILED: the home is kept at ${home.home}`);
  process.exitCode = 1;
} else {
  home.cleanup();
}
