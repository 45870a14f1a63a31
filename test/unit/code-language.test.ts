import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { languageIdOf } from '../../extension/language-ids.js';

// New File opens a reply's code block in the language its fence names, as VS Code knows it.

const KNOWN = [
  'plaintext',
  'javascript',
  'typescript',
  'python',
  'shellscript',
  'cpp',
  'yaml',
  'go',
];

describe('languageIdOf', () => {
  it('maps fence aliases to VS Code language ids', () => {
    assert.equal(languageIdOf('js', KNOWN), 'javascript');
    assert.equal(languageIdOf('TS', KNOWN), 'typescript');
    assert.equal(languageIdOf('py', KNOWN), 'python');
    assert.equal(languageIdOf('bash', KNOWN), 'shellscript');
    assert.equal(languageIdOf('c++', KNOWN), 'cpp');
    assert.equal(languageIdOf('yml', KNOWN), 'yaml');
    assert.equal(languageIdOf('golang', KNOWN), 'go');
  });

  it('takes a name VS Code knows as it is, and anything else as plain text', () => {
    assert.equal(languageIdOf('python', KNOWN), 'python');
    assert.equal(languageIdOf('brainfuck', KNOWN), 'plaintext');
    assert.equal(languageIdOf('rs', KNOWN), 'plaintext', 'rust is not among the known');
    assert.equal(languageIdOf(undefined, KNOWN), 'plaintext');
    assert.equal(languageIdOf('', KNOWN), 'plaintext');
  });
});
