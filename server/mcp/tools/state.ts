import { z } from 'zod';
import { SessionIdSchema, StateViewSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';
import { stateView } from '../views.js';

export const stateTool = defineTool({
  name: 'state',
  title: 'Session state',
  description:
    'The shared memory the memorizer keeps for a session (with its version), the latest ' +
    'sensor readings, whether a turn is running, the last event seq and the models in use.',
  input: z.object({ session: SessionIdSchema }),
  output: StateViewSchema,
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run({ session }, ctx) {
    const data = stateView(ctx.runtime, await ctx.session(session));
    const m = data.memory;
    const text =
      `Session ${data.session}: memory v${data.memoryVersion}` +
      `${m.user_name ? `, user ${m.user_name}` : ''}${m.topic ? `, topic ${m.topic}` : ''}` +
      `, ${data.busy ? 'busy' : 'idle'}, last seq ${data.lastSeq}.`;
    return { data, text };
  },
});
