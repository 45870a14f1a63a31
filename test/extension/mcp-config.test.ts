import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { mcpClientConfigs } from '../../extension/mcp-config.js';

// Cog: Copy MCP Client Config offers each client's own shape (issue 12: it used to give
// only `mcpServers`, which VS Code's mcp.json does not read).

const url = new URL('http://127.0.0.1:4321/mcp');

test('VS Code gets "servers", the others "mcpServers", Claude Code a command', () => {
  const [vscode, others, claude] = mcpClientConfigs({ url, token: 'tok-123' });
  assert.deepEqual(JSON.parse(vscode!.text), {
    servers: {
      cog: { type: 'http', url: url.href, headers: { Authorization: 'Bearer tok-123' } },
    },
  });
  assert.deepEqual(Object.keys(JSON.parse(others!.text)), ['mcpServers']);
  assert.equal(
    claude!.text,
    `claude mcp add --transport http cog '${url.href}' --header 'Authorization: Bearer tok-123'`,
  );
});

test('without a fixed token (an OAuth sign-in), no Authorization header anywhere', () => {
  for (const c of mcpClientConfigs({ url })) assert.doesNotMatch(c.text, /Authorization/);
});

test('the Claude Code command survives a shell: quotes in the token stay one argument', () => {
  const token = `it's "odd" $HOME`;
  const claude = mcpClientConfigs({ url, token }).find((c) => c.id === 'claude-code')!;
  // What a POSIX shell makes of it: echo the arguments one per line.
  const args = execFileSync(
    'sh',
    ['-c', `set -- ${claude.text.slice('claude '.length)}; printf '%s\\n' "$@"`],
    {
      encoding: 'utf8',
    },
  )
    .trim()
    .split('\n');
  assert.deepEqual(args.slice(-2), ['--header', `Authorization: Bearer ${token}`]);
});
