/**
 * The numbers the event-log tables are made of: a process's RSS and CPU time read from
 * /proc (Linux only), and the summaries of a run's samples that go into a row.
 */
import { readFileSync } from 'node:fs';

export const MB = 1024 * 1024;

/** VmRSS of a live process in bytes, NaN when /proc has no such line. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU seconds (user + system) of a process; USER_HZ is 100 on Linux. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The upper median (NaN for no samples). */
export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
/** The nearest-rank 90th percentile (NaN for no samples). */
export const p90 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1] ?? NaN;

/** "ok" when `value` is within `limit`, else MISSED and by how much. */
export { atMost as verdict } from './report.js';
