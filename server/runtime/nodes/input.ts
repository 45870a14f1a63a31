import type { NodeEnv, Turn } from './node-env.js';
import { callModel, lastTurns } from './node-env.js';

export interface PerceiveInput {
  history: readonly Turn[];
  /** Who is speaking, as authenticated ("local user", an OIDC subject). */
  identity: string;
  /** Where the message came from ("terminal", "mcp", "vscode"). */
  channel: string;
  /** Shared memory and the sensor digest. */
  context: string;
}

const SYSTEM = (i: PerceiveInput) => `You are the Input node of Cog, a cognitive runtime: its ears.
Speaker: ${i.identity}. Channel: ${i.channel}.
Describe in ONE sentence what just came in: who said it, what they want, the tone, and any
context that matters. Do not answer it and do not address the user.

${i.context}`;

/** The Input node: one sentence of perception about the newest message. */
export async function perceive(env: NodeEnv, input: PerceiveInput): Promise<string> {
  const started = env.now();
  env.emit({ type: 'node.thinking', detail: 'perceiving the message' });
  const result = await callModel(env, [
    { role: 'system', content: SYSTEM(input) },
    ...lastTurns(input.history, 8),
  ]);
  const perception = result.text.trim() || '(no perception)';
  env.emit({ type: 'node.perceived', perception });
  env.emit({ type: 'node.done', ms: env.now() - started, model: result.model });
  return perception;
}
