import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  TaskStatusNotificationSchema,
  type CallToolResult,
  type ElicitRequest,
  type ElicitResult,
  type LoggingMessageNotification,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { CogConfig } from '../../server/config.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { createMcpServer, type CogMcpServer } from '../../server/mcp/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import type { FixtureServer } from '../fixtures/openai-server.js';
import { cogEnv, spawnCog } from '../helpers/cog-process.js';
import { JsonLines, type Wire } from '../helpers/json-lines.js';
import { initializeRequest } from '../helpers/mcp-raw.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

/**
 * Shared set-up of the mcp-core tests: a real runtime (offline engine, or the fixture
 * OpenAI server), createMcpServer on it, and the SDK's own Client over an in-memory pair.
 */

const homes: { cleanup(): void }[] = [];
export const cleanupHomes = () => homes.splice(0).forEach((h) => h.cleanup());

export interface Counted {
  runtime: Runtime;
  /** Runtime subscriptions made through `runtime` and not yet released. */
  live(): number;
}

/** The runtime, with its subscribe calls counted so a test can see leaks. */
function counted(runtime: Runtime): Counted {
  let live = 0;
  const track = (off: () => void) => {
    live++;
    let done = false;
    return () => {
      if (!done) live--;
      done = true;
      off();
    };
  };
  return {
    runtime: {
      ...runtime,
      subscribe: async (...args) => track(await runtime.subscribe(...args)),
      subscribeAll: (...args) => track(runtime.subscribeAll(...args)),
    },
    live: () => live,
  };
}

export async function offlineRuntime(extra: Partial<CogConfig> = {}): Promise<Counted> {
  const home = tempHome('cog-mcp-');
  homes.push(home);
  return counted(await createRuntime(testConfig(home.home, extra), { sandbox: 'none' }));
}

export async function fixtureRuntime(
  fixture: FixtureServer,
  extra: Partial<CogConfig> = {},
): Promise<Counted> {
  const home = tempHome('cog-mcp-');
  homes.push(home);
  const config = testConfig(home.home, {
    models: { input: 'm-input', thinker: 'm-thinker', output: 'm-output', memorizer: 'm-memo' },
    endpoint: { baseUrl: fixture.url, apiKey: 'test-key', source: 'test' },
    ...extra,
  });
  const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'test-key', retryBaseMs: 10 });
  return counted(await createRuntime(config, { model, sandbox: 'none' }));
}

export interface Connected {
  client: Client;
  cog: CogMcpServer;
  logs: LoggingMessageNotification['params'][];
  updated: { uri: string; at: number }[];
  listChanged(): number;
  /** Resolves once `check` holds, re-checked on every notification the client gets. */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Calls a tool and returns its result (structuredContent validated by the client). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Declares the elicitation capability and answers with this. */
  elicit?: (req: ElicitRequest) => Promise<ElicitResult> | ElicitResult;
  /** Leave the HUD at the server's default (failures only) instead of asking for `info`. */
  defaultLevel?: boolean;
}

export async function connect(
  runtime: Runtime,
  principal: string,
  opts: ConnectOptions = {},
): Promise<Connected> {
  const cog = createMcpServer(runtime, { principal });
  const client = new Client(
    { name: 'mcp-core-test', version: '1.0.0' },
    { capabilities: opts.elicit ? { elicitation: {} } : {} },
  );
  const logs: Connected['logs'] = [];
  const updated: Connected['updated'] = [];
  let listChanged = 0;
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    logs.push(n.params);
    poke();
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updated.push({ uri: n.params.uri, at: Date.now() });
    poke();
  });
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
    listChanged++;
    poke();
  });
  const elicit = opts.elicit;
  if (elicit) client.setRequestHandler(ElicitRequestSchema, (req) => elicit(req));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([cog.server.connect(serverSide), client.connect(clientSide)]);
  // Output schemas are known to the client only after tools/list; validate from the start.
  await client.listTools();
  // These tests watch the HUD, as the panel does; an agent that never asks gets failures only.
  if (!opts.defaultLevel) await client.setLoggingLevel('info');
  return {
    client,
    cog,
    logs,
    updated,
    listChanged: () => listChanged,
    until(check, what, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const waiter = () => {
          if (!check()) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        waiters.add(waiter);
        waiter();
      });
    },
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close();
      await cog.close();
    },
  };
}

/** The structured result of a successful call. */
export function data<T = Record<string, unknown>>(result: CallToolResult): T {
  if (result.isError) throw new Error(`tool failed: ${JSON.stringify(result.content)}`);
  // A client that reads only `content` gets the same data: the serialized JSON block.
  const serialized = result.content[1];
  assert.equal(serialized?.type, 'text', 'a second content block carries the JSON');
  assert.deepEqual(
    JSON.parse(serialized.type === 'text' ? serialized.text : ''),
    result.structuredContent,
  );
  return result.structuredContent as T;
}

/** The text of a result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

/** HUD events in the logging notifications received so far. */
export const hudEvents = (c: Connected): RuntimeEvent[] =>
  c.logs.filter((l) => l.logger === 'cog.hud').map((l) => l.data as RuntimeEvent);

/** Reads a resource and parses its JSON text. */
export async function readJson(client: Client, uri: string): Promise<Record<string, unknown>> {
  const { contents } = await client.readResource({ uri });
  const first = contents[0];
  if (!first || !('text' in first)) throw new Error(`${uri}: no text content`);
  if (first.mimeType !== 'application/json') throw new Error(`${uri}: ${first.mimeType}`);
  return JSON.parse(first.text) as Record<string, unknown>;
}

export interface TaskWatch {
  /** Every notifications/tasks/status the client got, in order. */
  seen: Task[];
  /** Statuses notified for one task, in order. */
  statuses(taskId: string): Task['status'][];
  /** Resolves with the task once a notification says it reached `status`. */
  until(taskId: string, status: Task['status'], timeoutMs?: number): Promise<Task>;
}

/** Follows the task status notifications a client gets. */
export function watchTasks(client: Client): TaskWatch {
  const seen: Task[] = [];
  const waiters = new Set<() => void>();
  client.setNotificationHandler(TaskStatusNotificationSchema, (n) => {
    seen.push(n.params);
    waiters.forEach((w) => w());
  });
  const find = (taskId: string, status: string) =>
    seen.find((t) => t.taskId === taskId && t.status === status);
  return {
    seen,
    statuses: (taskId) => seen.filter((t) => t.taskId === taskId).map((t) => t.status),
    until(taskId, status, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const waiter = () => {
          const task = find(taskId, status);
          if (!task) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(task);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out waiting for task ${taskId} to be ${status}`));
        }, timeoutMs);
        waiters.add(waiter);
        waiter();
      });
    },
  };
}

/** Calls a tool as an MCP task (tools/call with `task`); resolves with the new task's id. */
export async function createTask(
  c: Connected,
  name: string,
  args: Record<string, unknown>,
  task: { ttl?: number } = {},
): Promise<string> {
  const created = await c.client.request(
    { method: 'tools/call', params: { name, arguments: args, task } },
    CreateTaskResultSchema,
  );
  assert.equal(created.task.status, 'working');
  return created.task.taskId;
}

/** tasks/result of a task that wraps a tools/call (blocks until the task ends). */
export const taskResult = (c: Connected, taskId: string) =>
  c.client.experimental.tasks.getTaskResult(
    taskId,
    CallToolResultSchema,
  ) as Promise<CallToolResult>;

/** For assert.rejects: an McpError with this code (and a message matching `message`). */
export const mcpError = (code: number, message?: RegExp) => (err: unknown) =>
  err instanceof McpError && err.code === code && (!message || message.test(err.message));

export interface RawStdio {
  /** Sends a request and resolves with its response. */
  request(method: string, params: object): Promise<Wire>;
  /** The server's answer to `initialize`. */
  init: Wire;
  /** The first notification (already received or still to come) that passes `test`. */
  notified(method: string, test: (params: Record<string, unknown>) => boolean): Promise<Wire>;
  out: JsonLines;
  close(): Promise<void>;
}

/** `cog mcp` as a child process spoken to in raw JSON-RPC lines, already initialized. */
export async function rawStdio(env: NodeJS.ProcessEnv = {}): Promise<RawStdio> {
  const home = tempHome('cog-mcp-raw-');
  homes.push(home);
  const cog = spawnCog(['mcp'], cogEnv(home.home, env));
  const out = new JsonLines(cog.child.stdout);
  const write = (m: object) => cog.child.stdin.write(`${JSON.stringify(m)}\n`);
  let next = 1;
  const request = (method: string, params: object) => {
    const id = next++;
    write({ jsonrpc: '2.0', id, method, params });
    return out.next((m) => m.id === id);
  };
  const init = await request('initialize', initializeRequest().params);
  if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init.error)}`);
  write({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return {
    init,
    request,
    notified: (method, test) => out.next((m) => m.method === method && test(m.params ?? {})),
    out,
    async close() {
      cog.child.stdin.end();
      await cog.stop();
    },
  };
}
