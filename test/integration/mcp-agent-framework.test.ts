import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMCPClient, type MCPClient } from '@ai-sdk/mcp';
import { Experimental_StdioMCPTransport } from '@ai-sdk/mcp/mcp-stdio';
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { cogBin, cogEnv, ensureBuilt, startServe } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

/**
 * Cog driven by an agent framework's own MCP client: the Vercel AI SDK's `@ai-sdk/mcp`
 * turns Cog's tools into AI SDK tools, and `generateText` runs the agent loop with the SDK's
 * scripted test model. Such a framework hands its model only a tool result's `content`
 * (here through `mcpToModelOutput`), never `structuredContent`, so what is asserted is what
 * the model received in its prompt. The script decides each call from that prompt alone
 * (the session id, the button to press), as a model would.
 */

type CallOptions = Parameters<MockLanguageModelV3['doGenerate']>[0];
type GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;
type Json = Record<string, unknown>;

/** One tool result as the model saw it: the text blocks of its `content`, in order. */
interface View {
  toolName: string;
  texts: string[];
}

function viewsIn(prompt: CallOptions['prompt']): View[] {
  const views: View[] = [];
  for (const message of prompt) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) {
      if (part.type !== 'tool-result') continue;
      const { output } = part;
      assert.equal(output.type, 'content', `${part.toolName}: ${JSON.stringify(output)}`);
      if (output.type !== 'content') continue;
      const texts = output.value.flatMap((v) => (v.type === 'text' ? [v.text] : []));
      views.push({ toolName: part.toolName, texts });
    }
  }
  return views;
}

/** The serialized structured result among a view's text blocks, as a model would read it. */
function jsonIn(view: View): Json {
  for (const text of view.texts) {
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Json;
    } catch {
      // the human line
    }
  }
  assert.fail(`no JSON block in the ${view.toolName} result: ${JSON.stringify(view.texts)}`);
}

interface Call {
  tool: string;
  input: Json;
}

/** What the scripted model does next, given every tool result it has seen so far. */
type Step = (views: View[]) => Call | 'stop';

/** The AI SDK's own test model, answering each doGenerate from `script` in turn. */
function scriptedModel(script: Step[]): MockLanguageModelV3 {
  let next = 0;
  const usage: GenerateResult['usage'] = {
    inputTokens: {
      total: undefined,
      noCache: undefined,
      cacheRead: undefined,
      cacheWrite: undefined,
    },
    outputTokens: { total: undefined, text: undefined, reasoning: undefined },
  };
  return new MockLanguageModelV3({
    doGenerate: async (options) => {
      const step = script[next++];
      assert.ok(step, 'the model was called after its script ended');
      const call = step(viewsIn(options.prompt));
      if (call === 'stop') {
        return {
          content: [{ type: 'text', text: 'Done.' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        };
      }
      return {
        content: [
          {
            type: 'tool-call',
            toolCallId: `call-${next}`,
            toolName: call.tool,
            input: JSON.stringify(call.input),
          },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      };
    },
  });
}

const session = (views: View[]) => String(jsonIn(views[0]!).session);

/** Two messages (a table with a button, a code run), the trace, the runs, a click, the state. */
const agent: Step[] = [
  () => ({ tool: 'send', input: { text: "Hi, I'm Ada. Show me a table." } }),
  (v) => ({ tool: 'send', input: { text: 'what is 17*23?', session: session(v) } }),
  (v) => ({ tool: 'trace', input: { session: session(v), limit: 1000 } }),
  (v) => ({ tool: 'process-list', input: { session: session(v) } }),
  (v) => {
    const controls = jsonIn(v[0]!).controls as Json[];
    const button = controls.find((c) => c.type === 'button');
    assert.ok(button, `a button in the first reply: ${JSON.stringify(controls)}`);
    const { action, data } = button as { action: string; data?: Json };
    return { tool: 'action', input: { session: session(v), action, ...(data ? { data } : {}) } };
  },
  // Last, so the sensor has ticked: the click's turn reads the sensors as it starts.
  (v) => ({ tool: 'state', input: { session: session(v) } }),
  () => 'stop',
];

/** Runs the agent against a connected client and checks what its model received. */
async function runAgent(client: MCPClient): Promise<void> {
  const tools = await client.tools();
  const model = scriptedModel(agent);
  const result = await generateText({
    model,
    tools,
    stopWhen: stepCountIs(agent.length + 1),
    prompt: 'Show me a table, compute 17*23, then look at what Cog did.',
  });
  assert.equal(result.finishReason, 'stop');
  assert.equal(result.text, 'Done.');
  assert.equal(model.doGenerateCalls.length, agent.length);

  // How to press a button is in the tool list the model was given.
  const offered = model.doGenerateCalls[0]!.tools ?? [];
  const action = offered.find((t) => t.name === 'action');
  assert.ok(action && action.type === 'function', JSON.stringify(offered.map((t) => t.name)));
  assert.match(action.description ?? '', /button/);
  const schema = action.inputSchema as { properties: Json; required?: string[] };
  assert.ok('action' in schema.properties && 'data' in schema.properties);
  assert.deepEqual([...(schema.required ?? [])].sort(), ['action', 'session']);

  const views = viewsIn(model.doGenerateCalls.at(-1)!.prompt);
  assert.deepEqual(
    views.map((v) => v.toolName),
    ['send', 'send', 'trace', 'process-list', 'action', 'state'],
  );
  // Everything the client got as structuredContent reached the model as text, in full.
  const calls = result.steps.flatMap((s) => s.toolResults);
  views.forEach((view, i) => {
    const raw = calls[i]!.output as { structuredContent?: Json; isError?: boolean };
    assert.notEqual(raw.isError, true, view.texts.join('\n'));
    assert.ok(view.texts.length >= 2, `${view.toolName}: a human line and the JSON block`);
    assert.deepEqual(jsonIn(view), raw.structuredContent, view.toolName);
  });
  const [table, code, trace, processes, click, state] = views as [
    View,
    View,
    View,
    View,
    View,
    View,
  ];
  const sid = session(views);
  assert.match(sid, /^s-/);

  // send: the table's rows and the button's action and data.
  const first = jsonIn(table);
  assert.match(table.texts[0]!, new RegExp(`Here is the table\\.[\\s\\S]*${sid}`));
  const controls = first.controls as Json[];
  const shownTable = controls.find((c) => c.type === 'table') as { rows: string[][] };
  assert.deepEqual(shownTable.rows[0], ['input', 'perceives each message']);
  assert.equal(shownTable.rows.length, 4);
  assert.match(table.texts.join('\n'), /"rows":\[\["input","perceives each message"\]/);
  assert.match(table.texts.join('\n'), /"action":"more","data":\{"about":"nodes"\}/);
  // The human line alone says how to press it, for a framework that keeps only that.
  assert.match(
    table.texts[0]!,
    new RegExp(
      `Button "Tell me more": to press it, call \`action\` with \\{"session":"${sid}","action":"more"`,
    ),
  );
  assert.match(table.texts[0]!, /Table "Cog’s nodes": 4 row\(s\) of node, role\./);

  // send with code: the reply and the run it started.
  const second = jsonIn(code);
  assert.match(code.texts[0]!, /17 × 23 = 391/);
  const runs = second.processes as { id: string; status: string }[];
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.status, 'done');
  const pid = runs[0]!.id;

  // trace: every event with its seq and type, in order, the run's output among them.
  const page = jsonIn(trace) as {
    events: { seq: number; type: string; text?: string; process?: string }[];
    next_seq: number;
    has_more: boolean;
  };
  const seqs = page.events.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
    'seq 1..n, none missing',
  );
  assert.equal(page.has_more, false);
  assert.match(
    trace.texts[0]!,
    new RegExp(`^${seqs.length} event\\(s\\) \\(seq 1-${seqs.length}\\)`),
  );
  const types = new Set(page.events.map((e) => e.type));
  for (const type of [
    'user.message',
    'controls',
    'process.updated',
    'memory.updated',
    'turn.done',
  ]) {
    assert.ok(types.has(type), `a ${type} event in the trace`);
  }
  const output = page.events.filter((e) => e.type === 'process.output' && e.process === pid);
  assert.equal(
    output
      .map((e) => e.text)
      .join('')
      .trim(),
    '391',
    'the run printed 391',
  );
  assert.match(trace.texts.join('\n'), /"type":"process\.output"[^}]*"text":"391\\n"/);

  // process-list: the run, its code and how it ended.
  assert.match(processes.texts[0]!, new RegExp(`${pid} javascript done in ${sid}`));
  const [run] = (jsonIn(processes).processes as Json[]).filter((p) => p.id === pid);
  assert.ok(run, `${pid} in process-list`);
  assert.equal(run.code, 'console.log(17*23)');
  assert.equal(run.exitCode, 0);
  assert.equal(run.outputBytes, 4);
  assert.equal(run.output, '391\n', 'the end of what it printed');
  assert.match(processes.texts[0]!, /output ends: 391/);

  // action: the click on the button read from the first reply, answered.
  assert.match(click.texts[0]!, /Each message goes through Input/);
  assert.equal(jsonIn(click).status, 'ok');

  // state: the memory the memorizer kept, the mood, and the sensor readings.
  const view = jsonIn(state) as {
    memory: { user_name: string; user_mood: string; facts: string[] };
    sensor: { readings: Record<string, string> } | null;
  };
  assert.match(state.texts[0]!, /user Ada/);
  assert.equal(view.memory.user_name, 'Ada');
  assert.ok(view.memory.facts.includes("The user's name is Ada"), view.memory.facts.join('; '));
  assert.equal(view.memory.user_mood, 'neutral');
  assert.ok(view.sensor, 'the sensor has ticked');
  assert.match(view.sensor.readings.clock ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d /);
  assert.equal(view.sensor.readings.idle, 'active');
  // What changed in memory since the previous tick: the topic moves on with every turn.
  assert.match(view.sensor.readings.memory ?? '', /topic="/);
  assert.match(state.texts.join('\n'), /"facts":\["The user's name is Ada"\]/);
}

/** The pid that holds `home` (its runtime lock), to wait for its exit after a close. */
function lockHolder(home: string): number {
  return (JSON.parse(readFileSync(join(home, 'runtime.lock'), 'utf8')) as { pid: number }).pid;
}

/** The stdio transport's close signals the child and returns: wait until it is gone. */
async function gone(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    assert.ok(Date.now() < deadline, `cog (pid ${pid}) still running ${timeoutMs} ms after close`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('AI SDK agent over stdio: the model sees the trace, state, table, runs and clicks', async (t) => {
  await ensureBuilt();
  const dir = tempHome('cog-ai-sdk-stdio-');
  const home = join(dir.home, 'home');
  const log = join(dir.home, 'stderr.log');
  const stderr = openSync(log, 'w');
  let pid: number | undefined;
  try {
    const client = await createMCPClient({
      clientName: 'ai-sdk-agent-test',
      transport: new Experimental_StdioMCPTransport({
        command: process.execPath,
        args: [cogBin, 'mcp'],
        env: cogEnv(home),
        stderr,
      }),
      initializationOptions: { timeout: 15_000 },
    });
    pid = lockHolder(home);
    try {
      await runAgent(client);
    } finally {
      await client.close();
    }
  } catch (err) {
    t.diagnostic(`cog mcp stderr:\n${readFileSync(log, 'utf8')}`);
    throw err;
  } finally {
    closeSync(stderr);
    if (pid !== undefined) await gone(pid);
    dir.cleanup();
  }
});

test('AI SDK agent over HTTP with a bearer token: the same view', async (t) => {
  const home = tempHome('cog-ai-sdk-http-');
  const started = await startServe(home.home);
  try {
    const client = await createMCPClient({
      clientName: 'ai-sdk-agent-test',
      transport: {
        type: 'http',
        url: started.url,
        headers: { Authorization: `Bearer ${started.token}` },
      },
      initializationOptions: { timeout: 15_000 },
    });
    try {
      await runAgent(client);
    } finally {
      await client.close();
    }
  } catch (err) {
    t.diagnostic(`cog serve stderr:\n${started.serve.stderr()}`);
    throw err;
  } finally {
    await started.serve.stop();
    home.cleanup();
  }
});
