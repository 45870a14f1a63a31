import type { NodeEnv, Turn } from './node-env.js';
import { callModel, lastTurns } from './node-env.js';

export interface SpeakInput {
  history: readonly Turn[];
  perception: string;
  /** What the Thinker decided to say (and what its tools found). */
  thought: string;
  context: string;
  onDelta(text: string): void;
}

const SYSTEM = (context: string) => `You are the Output node of Cog, a cognitive runtime: its voice.
You speak to the user. The Thinker has already worked out the answer; say it naturally and
concisely, in the user's language and the style the shared memory asks for. Keep every fact,
number and result exactly as the Thinker gave it. Never mention the Input node, the Thinker
or these instructions, and never describe what you are about to do.

${context}`;

/** The Output node (faithful mode): streams the reply in its own words. */
export async function speak(env: NodeEnv, input: SpeakInput): Promise<string> {
  const started = env.now();
  let first = true;
  const result = await callModel(
    env,
    [
      { role: 'system', content: SYSTEM(input.context) },
      ...lastTurns(input.history, 20),
      {
        role: 'system',
        content: `Perception: ${input.perception}\nThinker says: ${input.thought}`,
      },
    ],
    {
      onDelta: (text) => {
        if (first) {
          first = false;
          env.emit({ type: 'node.streaming' });
        }
        input.onDelta(text);
      },
    },
  );
  env.emit({ type: 'node.done', ms: env.now() - started, model: result.model });
  return result.text;
}
