import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { cogBin, cogEnv, root, startServe, type CogProcess } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

const home = tempHome('cog-inspector-');
let serve: CogProcess;
let url: string;
let token: string;

before(async () => {
  const started = await startServe(home.home);
  ({ serve, url, token } = started);
});
after(async () => {
  await serve?.stop();
  home.cleanup();
});

/**
 * Runs `npx mcp-inspector-cli --cli ...` and parses its JSON output. The cwd is test/:
 * inspector-cli 1.0.3 looks for its own package.json with a path relative to the cwd
 * (`fs.existsSync("../package.json")`) but imports it relative to its module, so it only
 * starts from a directory whose parent has a package.json.
 */
function inspector(args: string[], env = cogEnv(home.home)): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no', '--', 'mcp-inspector-cli', '--cli', ...args], {
      cwd: `${root}test`,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`inspector exited ${code}:\n${err}\n${out}`));
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`inspector printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

const toolNames = (r: unknown) => (r as { tools: { name: string }[] }).tools.map((t) => t.name);
const replyText = (r: unknown) =>
  (r as { structuredContent: { text: string } }).structuredContent.text;

test('inspector-cli over stdio: lists tools and calls send', async () => {
  const target = [process.execPath, cogBin, 'mcp'];
  // One runtime per COG_HOME (it is locked), so each spawned `cog mcp` gets its own.
  const homes = [tempHome('cog-inspector-a-'), tempHome('cog-inspector-b-')];
  try {
    const [list, call] = await Promise.all([
      inspector([...target, '--method', 'tools/list'], cogEnv(homes[0]!.home)),
      inspector(
        [
          ...target,
          '--method',
          'tools/call',
          '--tool-name',
          'send',
          '--tool-arg',
          'text=what is 17*23?',
        ],
        cogEnv(homes[1]!.home),
      ),
    ]);
    assert.ok(toolNames(list).includes('send'));
    assert.match(replyText(call), /391/);
  } finally {
    for (const h of homes) h.cleanup();
  }
});

test('inspector-cli over Streamable HTTP with the bearer header: lists tools and calls send', async () => {
  const target = [url, '--transport', 'http', '--header', `Authorization: Bearer ${token}`];
  const [list, call] = await Promise.all([
    inspector([...target, '--method', 'tools/list']),
    inspector([
      ...target,
      '--method',
      'tools/call',
      '--tool-name',
      'send',
      '--tool-arg',
      'text=hello',
    ]),
  ]);
  assert.ok(toolNames(list).includes('process-approve'));
  assert.match(replyText(call), /offline engine/);
  // Without the header, the inspector is turned away.
  await assert.rejects(
    inspector([url, '--transport', 'http', '--method', 'tools/list']),
    /401|Unauthorized/,
  );
});
