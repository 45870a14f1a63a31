import type { MemoryState, RuntimeEvent } from '../../protocol/events.js';
import { processInfo, type Events } from './events.js';

/**
 * Script-injection payloads. Each one, if it ran, would set `window.__xss`, open a dialog,
 * load something from elsewhere, or plant an element or attribute that could. The
 * webview must show them all as inert text (or a safe link).
 */
export const XSS_PAYLOADS: readonly string[] = [
  '<script>window.__xss=1</script>',
  '<img src=x onerror="window.__xss=2">',
  '<svg onload="window.__xss=3">',
  '<svg><script>window.__xss=4</script></svg>',
  '<iframe src="javascript:parent.__xss=5"></iframe>',
  '<iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
  '<a href="javascript:window.__xss=7">click</a>',
  '[md link](javascript:window.__xss=8)',
  '[md spaced](  javascript:window.__xss=9 )',
  '[entity](&#106;avascript:window.__xss=10)',
  '[tab](jav&#x09;ascript:window.__xss=11)',
  '![img](x" onerror="window.__xss=12)',
  '![remote](https://evil.example/x.png)',
  '<body onload="window.__xss=14">',
  '<div style="background:url(javascript:window.__xss=15)">styled</div>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=16">',
  '<noscript><p title="</noscript><img src=x onerror=window.__xss=17>">',
  '<form><button formaction="javascript:window.__xss=18">go</button></form>',
  '<input autofocus onfocus="window.__xss=19">',
  '<details open ontoggle="window.__xss=20">d</details>',
  '<video><source onerror="window.__xss=21"></video>',
  '<audio src=x onerror="window.__xss=22">',
  '<object data="javascript:window.__xss=23"></object>',
  '<embed src="javascript:window.__xss=24">',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=25">',
  '<base href="javascript:window.__xss=26//">',
  '<link rel="stylesheet" href="https://evil.example/x.css">',
  "<style>@import 'https://evil.example/x.css';</style>",
  '<marquee onstart="window.__xss=29">m</marquee>',
  '<select autofocus onfocus="window.__xss=30"></select>',
  '<textarea autofocus onfocus="window.__xss=31"></textarea>',
  '"><script>window.__xss=32</script>',
  "'><img src=x onerror=window.__xss=33>",
  '`<img src=x onerror=window.__xss=34>`',
  '```html\n<script>window.__xss=35</script>\n```',
  '<a href="data:text/html,<script>parent.__xss=36</script>">data</a>',
  '[b64](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9Mzc8L3NjcmlwdD4=)',
  '<a href="vbscript:msgbox(38)">vb</a>',
  '<a href="command:workbench.action.terminal.new">cmd</a>',
  '[cmd](command:workbench.action.openSettings)',
  '<img src="data:image/svg+xml,<svg onload=window.__xss=41>">',
  '<svg><a xlink:href="javascript:window.__xss=42"><text>x</text></a></svg>',
  '<svg><animate onbegin="window.__xss=43" attributeName=x dur=1s>',
  '<template><img src=x onerror="window.__xss=44"></template>',
  '<x onclick="window.__xss=45">clickme</x>',
  '<a id="__xss" name="__xss">clobber</a>',
  '<form id="app"><input name="firstChild"></form>',
  '<img name="getElementById" src=x>',
  '<javascript:window.__xss=49>',
  '<https://evil.example/?q="><script>window.__xss=50</script>>',
  '<IMG SRC=JaVaScRiPt:window.__xss=51>',
  '<img src=x:alert(52) onerror=eval(src)>',
  '<svg/onload=window.__xss=53>',
  '<scr<script>ipt>window.__xss=54</script>',
  '%3Cscript%3Ewindow.__xss=55%3C/script%3E',
  '<div onmouseover="window.__xss=56">hover me</div>',
  '<button onclick="window.__xss=57">Press</button>',
  '[title](https://example.com "t\\" onmouseover=\\"window.__xss=58")',
  '<a href="#" onclick="window.__xss=59">hash</a>',
  '<iframe src="https://evil.example"></iframe>',
  '<portal src="https://evil.example"></portal>',
  '<img srcset="https://evil.example/a.png 1x">',
  '<a href="  javascript:window.__xss=63">space</a>',
  '<a href="java\nscript:window.__xss=64">newline</a>',
  '</div></div></section><script>window.__xss=65</script>',
  "{{constructor.constructor('window.__xss=66')()}}",
  '${window.__xss=67}',
  '<svg><foreignObject><iframe srcdoc="<script>parent.__xss=68</script>"></iframe></foreignObject></svg>',
  '<math href="javascript:window.__xss=69">m</math>',
  '<a href="jAvAsCrIpT&colon;window.__xss=70">colon entity</a>',
  '[ref][x]\n\n[x]: javascript:window.__xss=71',
  '<img src="/local.png" onerror="window.__xss=72">',
  '<a href="//evil.example/x">protocol-relative</a>',
  '<div data-x="y" aria-label="z" class="cog-btn" id="spoof">spoofed button</div>',
];

/** Every payload in every place the webview shows runtime or host text. */
export function hostileEvents(ev: Events): RuntimeEvent[] {
  const out: RuntimeEvent[] = [];
  const p = XSS_PAYLOADS;
  p.forEach((payload, i) => {
    const turn = `t${i + 1}`;
    out.push(
      ev.ev({ type: 'user.message', node: 'user', turn, text: payload }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
      ev.ev({ type: 'node.thinking', node: 'thinker', turn, detail: payload }),
      ev.ev({ type: 'node.perceived', node: 'input', turn, perception: payload }),
      ev.ev({ type: 'output.delta', node: 'output', turn, text: `Model says: ${payload}` }),
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn,
        text: `Model says: ${payload}\n\n${payload}`,
        controls: [
          { type: 'button', label: payload, action: `act${i}`, data: { payload } },
          { type: 'process', processId: `p${i}` },
        ],
        processes: [`p${i}`],
        model: {
          offline: true,
          models: { input: payload, thinker: payload, output: payload, memorizer: payload },
        },
      }),
      ev.ev({
        type: 'process.updated',
        node: 'process',
        turn,
        process: processInfo(`p${i}`, {
          code: payload,
          reason: payload,
          status: i % 2 ? 'pending-approval' : 'failed',
        }),
      }),
      ev.ev({
        type: 'process.output',
        node: 'process',
        turn,
        process: `p${i}`,
        stream: i % 2 ? 'stdout' : 'stderr',
        text: payload,
      }),
      ev.ev({ type: 'node.error', node: 'thinker', turn, code: payload, message: payload }),
      ev.ev({
        type: 'turn.done',
        node: 'runtime',
        turn,
        status: 'error',
        timing: { firstTokenMs: null, totalMs: 1, callsBeforeFirstToken: 0, modelCalls: 0 },
        error: payload,
      }),
    );
  });
  out.push(
    ev.ev({
      type: 'controls',
      node: 'thinker',
      turn: 't1',
      controls: [
        {
          type: 'table',
          title: p[0],
          columns: p.slice(0, 20),
          rows: p.map((_row, i) =>
            p.slice(0, 20).map((_, j) => (j === 1 ? i : p[(i + j) % p.length])),
          ),
        },
        {
          type: 'table',
          columns: ['k', 'v'],
          rows: p.map((x) => ({ k: x, v: x })) as unknown as string[][],
        },
      ],
    }),
    ev.ev({
      type: 'sensor.tick',
      node: 'sensor',
      readings: Object.fromEntries(p.map((x, i) => [x, p[(i + 1) % p.length]])),
      deltas: Object.fromEntries(p.slice(0, 5).map((x) => [x, x])),
    }),
  );
  const memory: MemoryState = {
    user_name: p[1],
    user_mood: p[2],
    topic: p[3],
    topic_history: p.slice(4, 10),
    situation: p[10],
    language: p[11],
    style_hint: p[12],
    facts: [...p],
  };
  out.push(
    ev.ev({
      type: 'memory.updated',
      node: 'memorizer',
      turn: 't1',
      state: memory,
      version: 1,
      changes: [...p],
    }),
  );
  return out;
}
