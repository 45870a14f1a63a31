/**
 * The README and `cog --help` must say the same thing: the same configuration variables,
 * the same commands, the same flags. Each side is read as a person reads it (the README's
 * configuration table and its `cog …` lines; the help's usage lines and option lists), so a
 * flag or variable added to one and not the other fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMAND_HELP, helpText, usageText } from '../../server/cli/help.js';
import { ENV_DOCS } from '../../server/config-docs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const help = helpText();

/** The README's "## Configuration" table: every variable named in its first column. */
function readmeVariables(): Set<string> {
  const section = readme.slice(readme.indexOf('## Configuration'));
  const table = section.slice(0, section.indexOf('\n## '));
  const names = new Set<string>();
  for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
    const first = row.split('|')[1] ?? '';
    let prefix = '';
    for (const [, name] of first.matchAll(/`([A-Z_]+)(?:=[^`]*)?`/g)) {
      // `COG_MODEL_INPUT`, `_THINKER`: a leading underscore continues the previous name's stem.
      if (name.startsWith('_')) names.add(`${prefix}${name}`);
      else {
        names.add(name);
        prefix = name.replace(/_[A-Z]+$/, '');
      }
    }
  }
  return names;
}

test('the README configuration table and --help name the same variables', () => {
  const documented = new Set(ENV_DOCS.map(([name]) => name));
  // --help lists COG_MODEL_INPUT with "likewise _THINKER, _OUTPUT, _MEMORIZER".
  for (const node of ['THINKER', 'OUTPUT', 'MEMORIZER']) documented.add(`COG_MODEL_${node}`);
  const inReadme = readmeVariables();
  assert.deepEqual([...inReadme].sort(), [...documented].sort());
  for (const name of documented)
    assert.ok(help.includes(name.replace(/_(THINKER|OUTPUT|MEMORIZER)$/, '_INPUT')), name);
});

test('every command in --help is in the README, and the README names no other', () => {
  const commands = Object.keys(COMMAND_HELP);
  for (const name of commands) {
    assert.match(readme, new RegExp(`\\bcog ${name}\\b`), `the README never shows cog ${name}`);
  }
  const named = new Set(
    [...readme.matchAll(/`(?:npx )?cog ([a-z]+)\b/g)]
      .map((m) => m[1])
      .filter((w) => w !== 'serve' || true),
  );
  for (const word of named) {
    assert.ok(
      commands.includes(word),
      `the README shows \`cog ${word}\`, which --help does not know`,
    );
  }
});

test("the README's Commands section is --help's usage, verbatim", () => {
  const m = /## Commands\n[\s\S]*?```text\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(m, 'the README has a "## Commands" section with a text block');
  assert.equal(m[1], usageText(), "copy `cog --help`'s Usage lines into the README");
});

test('every flag the README gives cog is one --help knows', () => {
  const flagsOf = (text: string) =>
    [...text.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)].map((m) => `--${m[1]}`);
  const known = new Set(flagsOf(help));
  const lines = [
    ...[...readme.matchAll(/^\s*(?:npx )?cog .*$/gm)].map((m) => m[0]),
    ...[...readme.matchAll(/`(?:npx )?cog [^`]*`/g)].map((m) => m[0]),
  ];
  for (const line of lines) {
    for (const flag of flagsOf(line.split(' # ')[0] ?? '')) {
      assert.ok(
        known.has(flag),
        `the README gives cog ${flag}, which --help does not know: ${line}`,
      );
    }
  }
});
