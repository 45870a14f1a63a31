// Runs SQL against a session's SQLite file in a child process, so a runaway query is
// killed, capped and sandboxed like any other code. sql.js's pure-JS build is used
// because WebAssembly reserves gigabytes of address space, which the memory cap forbids.
// Usage: node sql-runner.mjs <sql-asm.js> <database file>, SQL on stdin.

import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const MAX_ROWS_SHOWN = 500;
const MAX_CELL_CHARS = 200;

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function cell(value) {
  let text;
  if (value === null || value === undefined) text = 'NULL';
  else if (value instanceof Uint8Array) text = `<blob ${value.length} bytes>`;
  else text = String(value);
  text = text.replace(/\r?\n/g, '\\n');
  return text.length > MAX_CELL_CHARS ? text.slice(0, MAX_CELL_CHARS - 1) + '…' : text;
}

function table(columns, rows, total) {
  const cells = rows.map((r) => r.map(cell));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((v, i) => v.padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-')];
  for (const r of cells) out.push(line(r));
  const more = total > rows.length ? `, ${rows.length} shown` : '';
  out.push(`(${total} row${total === 1 ? '' : 's'}${more})`);
  return out.join('\n');
}

/** Writes through a temp file and a rename, so a kill mid-write never corrupts the db. */
function save(db, file) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, Buffer.from(db.export()));
  fs.renameSync(tmp, file);
}

async function main() {
  const [sqlAsm, dbFile] = process.argv.slice(2);
  const sql = await readStdin();
  // sql-asm.js is CommonJS; importing it yields module.exports as the default export.
  const { default: initSqlJs } = await import(pathToFileURL(sqlAsm).href);
  const SQL = await initSqlJs();
  const db = fs.existsSync(dbFile) ? new SQL.Database(fs.readFileSync(dbFile)) : new SQL.Database();
  let printed = false;
  let failed = false;
  try {
    for (const stmt of db.iterateStatements(sql)) {
      const columns = stmt.getColumnNames();
      if (columns.length === 0) {
        stmt.step();
        if (/^\s*(insert|update|delete|replace)\b/i.test(stmt.getSQL())) {
          const n = db.getRowsModified();
          process.stdout.write(`(${n} row${n === 1 ? '' : 's'} changed)\n`);
          printed = true;
        }
      } else {
        const rows = [];
        let total = 0;
        while (stmt.step()) {
          if (rows.length < MAX_ROWS_SHOWN) rows.push(stmt.get());
          total++;
        }
        process.stdout.write((printed ? '\n' : '') + table(columns, rows, total) + '\n');
        printed = true;
      }
      stmt.free();
    }
    if (!printed) process.stdout.write('OK\n');
  } catch (err) {
    process.stderr.write(`SQL error: ${err && err.message ? err.message : String(err)}\n`);
    failed = true;
  }
  // Statements before an error were applied (SQLite autocommits each), so keep them,
  // exactly as a file-backed sqlite3 shell would.
  save(db, dbFile);
  db.close();
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`SQL runner failed: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
