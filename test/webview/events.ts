/** Runtime events for the webview tests and bench, stamped the way the event log does. */
import { createHash } from 'node:crypto';
import type { Control } from '../../protocol/controls.js';
import type { EventDraft, ModelInfo, ProcessInfo, RuntimeEvent } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';

export const OFFLINE: ModelInfo = {
  offline: true,
  models: { input: 'offline', thinker: 'offline', output: 'offline', memorizer: 'offline' },
};

export const ONLINE: ModelInfo = {
  offline: false,
  models: { input: 'small', thinker: 'big', output: 'big', memorizer: 'small' },
  baseUrl: 'http://127.0.0.1:1/v1',
};

export const TIMING = { firstTokenMs: 5, totalMs: 20, callsBeforeFirstToken: 1, modelCalls: 2 };

export class Events {
  seq = 0;
  turns = 0;
  constructor(readonly session = 'sess-1') {}

  ev(draft: EventDraft): RuntimeEvent {
    return {
      ...draft,
      seq: ++this.seq,
      ts: new Date().toISOString(),
      session: this.session,
    } as RuntimeEvent;
  }

  /** A whole turn: the user message, the reply streamed in `chunks`, then final and done. */
  turn(
    user: string,
    chunks: string[],
    opts: { controls?: Control[]; model?: ModelInfo; final?: string } = {},
  ): RuntimeEvent[] {
    const turn = `t${++this.turns}`;
    return [
      this.ev({ type: 'user.message', node: 'user', turn, text: user }),
      this.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
      ...chunks.map((text) => this.ev({ type: 'output.delta', node: 'output', turn, text })),
      this.ev({
        type: 'assistant.message',
        node: 'output',
        turn,
        text: opts.final ?? chunks.join(''),
        controls: opts.controls ?? [],
        processes: [],
        model: opts.model ?? OFFLINE,
      }),
      this.ev({ type: 'turn.done', node: 'runtime', turn, status: 'ok', timing: TIMING }),
    ];
  }

  snapshot(events: RuntimeEvent[], resumed = false, model: ModelInfo = OFFLINE): HostToWebview {
    return {
      type: 'snapshot',
      session: this.session,
      sessions: [
        {
          id: this.session,
          title: 'Test session',
          createdAt: new Date().toISOString(),
          turns: 1,
          lastSeq: 1,
          busy: false,
        },
      ],
      events,
      resumed,
      model,
      approval: 'ask',
    };
  }
}

/** A process as the runtime reports it; `codeSha256` follows `code` unless given. */
export function processInfo(id: string, patch: Partial<ProcessInfo> = {}): ProcessInfo {
  const code = patch.code ?? 'print(17*23)';
  return {
    id,
    session: 'sess-1',
    language: 'python',
    code,
    codeSha256: createHash('sha256').update(code, 'utf8').digest('hex'),
    status: 'pending-approval',
    isolation: 'bubblewrap',
    exitCode: null,
    createdAt: new Date().toISOString(),
    outputBytes: 0,
    truncated: false,
    ...patch,
  };
}
