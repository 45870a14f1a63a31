import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

/** What the `send` tool's structured result holds, as the multi-instance tests read it. */
export interface SentTurn {
  session: string;
  turn: string;
  status: string;
  text: string;
  /** With awaiting_approval: the run waiting for a decision. */
  pending?: { id: string; codeSha256: string };
}

/** Calls `send` on `client`; fails the test when the tool answers with an error. */
export async function sendTool(client: Client, args: Record<string, unknown>): Promise<SentTurn> {
  const r = await client.callTool({ name: 'send', arguments: args });
  assert.equal(r.isError, undefined, JSON.stringify(r.content));
  return r.structuredContent as unknown as SentTurn;
}
