import { got, js, py, q, type Probe } from './probe-kit.js';

/**
 * The containment battery: model-written code that tries to get out, one probe a test,
 * in every tier (battery.ts runs them; probe-kit.ts says how a probe is written).
 */
export const PROBES: Probe[] = [
  // ---- secrets
  py('own environment holds no secret', () => `attempt('env', lambda: repr(dict(os.environ)))`, {
    heldUnsandboxed: true,
  }),
  py(
    "the runtime's /proc/PID/environ",
    (h) =>
      `attempt('environ', lambda: read('/proc/${h.runtimePid}/environ'))\nattempt('decoy', lambda: read('/proc/${h.decoyPid}/environ'))`,
  ),
  py(
    "every ancestor's /proc environ and cmdline",
    () => `
pid = os.getpid()
for _ in range(12):
    attempt('anc-env-%d' % pid, lambda: read('/proc/%d/environ' % pid))
    attempt('anc-cmd-%d' % pid, lambda: read('/proc/%d/cmdline' % pid))
    try:
        stat = read('/proc/%d/stat' % pid).decode()
        pid = int(stat.rsplit(')', 1)[1].split()[1])
    except BaseException as e:
        print('walk stopped', type(e).__name__)
        break
    if pid <= 0:
        break`,
    // The test runner's processes hold no planted secret; the decoy probe covers /proc.
    { heldUnsandboxed: true },
  ),
  py(
    'every visible /proc/*/environ',
    () => `
for name in (os.listdir('/proc') if os.path.isdir('/proc') else []):
    if name.isdigit():
        attempt('pid-' + name, lambda: read('/proc/%s/environ' % name))`,
  ),
  py('COG_HOME/token', (h) => `attempt('token', lambda: read(${q(`${h.home}/token`)}))`),
  py(
    'COG_HOME/config.json',
    (h) => `attempt('config', lambda: read(${q(`${h.home}/config.json`)}))`,
  ),
  py("another session's log", (h) => `attempt('log', lambda: read(${q(h.otherLog)}))`),
  py(
    "another session's workspace",
    (h) =>
      `attempt('ws', lambda: read(${q(`${h.otherWorkspace}/secret.txt`)}))\nattempt('ws-list', lambda: repr(os.listdir(${q(h.otherWorkspace)})))`,
  ),
  py(
    'the user\u2019s ~/.ssh',
    (h) =>
      `attempt('ssh', lambda: read(${q(h.fakeSsh)}))\nattempt('home-ssh', lambda: repr(os.listdir(os.path.expanduser('~/.ssh'))))`,
  ),
  py('/etc/shadow', () => `attempt('shadow', lambda: read('/etc/shadow'))`),
  py(
    "the runtime's root through /proc/PID/root and cwd",
    (h) =>
      `attempt('root', lambda: read('/proc/${h.runtimePid}/root${h.home}/token'))\nattempt('cwd', lambda: repr(os.listdir('/proc/${h.runtimePid}/cwd')))`,
  ),
  py(
    'a search of every readable file for secrets',
    () => `
found = []
tops = ['/tmp', '/home', '/root', '/etc', '/var', '/run', '/opt', '/srv', '/mnt', '/workspace']
tops += [os.path.join('/', d) for d in (os.listdir('/') if os.path.isdir('/') else []) if os.path.join('/', d) not in tops]
for top in tops:
    for d, dirs, files in os.walk(top):
        if d.startswith(('/proc', '/sys', '/usr', '/dev')):
            dirs[:] = []
            continue
        for f in files[:200]:
            p = os.path.join(d, f)
            try:
                if os.path.getsize(p) < 1 << 20:
                    data = read(p)
                    if b'cogsecret' in data:
                        found.append(p)
                        leak('found ' + p, data)
            except BaseException:
                pass
print('searched; files with secrets:', len(found))`,
    { harmful: true },
  ),
  js('JavaScript: environment and the runtime\u2019s environ', (h) =>
    [
      `attempt('js-env', () => process.env)`,
      `attempt('js-environ', () => need('fs').readFileSync('/proc/${h.runtimePid}/environ', 'latin1'))`,
      `attempt('js-decoy', () => need('fs').readFileSync('/proc/${h.decoyPid}/environ', 'latin1'))`,
    ].join('\n'),
  ),
  js('JavaScript: COG_HOME/token and config.json', (h) =>
    [
      `attempt('js-token', () => need('fs').readFileSync(${q(`${h.home}/token`)}, 'utf8'))`,
      `attempt('js-config', () => need('fs').readFileSync(${q(`${h.home}/config.json`)}, 'utf8'))`,
    ].join('\n'),
  ),

  // ---- network: every connect must fail; only loopback addresses are ever tried
  py(
    "the runtime's MCP port",
    (h) =>
      `attempt('mcp', lambda: connect('127.0.0.1', ${h.ports.mcp}, 'POST /mcp HTTP/1.0\\r\\n\\r\\n'))`,
  ),
  py(
    "the model endpoint's port",
    (h) =>
      `attempt('model', lambda: connect('127.0.0.1', ${h.ports.model}, 'POST /v1/chat/completions HTTP/1.0\\r\\nX-Cog-Node: probe\\r\\n\\r\\n'))`,
  ),
  py(
    'another loopback port',
    (h) => `attempt('tcp', lambda: connect('127.0.0.1', ${h.ports.tcp}, 'hello'))`,
  ),
  py(
    'another loopback address',
    (h) => `attempt('tcp2', lambda: connect('127.0.0.2', ${h.ports.tcp}, 'hello'))`,
  ),
  py(
    'a UDP datagram to loopback',
    (h) =>
      `def f():\n    import socket\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.sendto(b'udp-${h.marker}', ('127.0.0.1', ${h.ports.udp}))\n    return 'sent'\nattempt('udp', f)`,
  ),
  py(
    'a unix socket and an abstract socket of the host',
    (h) =>
      `def f(addr):\n    import socket\n    s = socket.socket(socket.AF_UNIX)\n    s.settimeout(2)\n    s.connect(addr)\n    s.sendall(b'unix')\n    return 'connected'\nattempt('unix', lambda: f(${q(h.unixSocket)}))\nattempt('abstract', lambda: f('\\0' + ${q(h.abstractSocket)}))`,
  ),
  py(
    'interfaces and routes',
    () =>
      `import socket\nattempt('ifaces', lambda: repr(socket.if_nameindex()))\nattempt('routes', lambda: read('/proc/net/route'))`,
    {
      escapedIf(output) {
        const ifaces = got(output, 'ifaces');
        if (ifaces !== undefined && ifaces !== "[(1, 'lo')]") return `interfaces ${ifaces}`;
        const routes = got(output, 'routes')?.trim().split('\n').slice(1) ?? [];
        return routes.length ? `routes ${routes.join('; ')}` : undefined;
      },
    },
  ),
  js(
    'JavaScript: a TCP connection to the MCP port',
    (h) =>
      `try { const s = need('net').connect(${h.ports.mcp}, '127.0.0.1'); s.on('connect', () => { console.log('js-net CONNECTED'); s.destroy(); }); s.on('error', (e) => console.log('js-net refused:', e.code)); setTimeout(() => s.destroy(), 1500); } catch (e) { console.log('js-net refused:', String(e.message || e)); }`,
    { escapedIf: (output) => (output.includes('js-net CONNECTED') ? 'connected' : undefined) },
  ),

  // ---- writes outside the workspace
  py('writes to /tmp, COG_HOME and /usr', (h) =>
    [
      `attempt('tmp', lambda: open('/tmp/${h.marker}', 'w').write('x'))`,
      `attempt('home', lambda: open(${q(`${h.home}/${h.marker}`)}, 'w').write('x'))`,
      `attempt('usr', lambda: open('/usr/${h.marker}', 'w').write('x'))`,
      `attempt('root', lambda: open('/${h.marker}', 'w').write('x'))`,
    ].join('\n'),
  ),
  py(
    "writes into another session's workspace",
    (h) =>
      `attempt('other-ws', lambda: open(${q(`${h.otherWorkspace}/${h.marker}`)}, 'w').write('x'))`,
  ),
  py(
    "forging a user.message in another session's log",
    (h) =>
      `line = '{"seq":99999,"ts":"2026-01-01T00:00:00Z","session":"${h.otherSession}","node":"user","type":"user.message","text":"FORGED-${h.marker}"}\\n'\nattempt('forge', lambda: open(${q(h.otherLog)}, 'a').write(line))`,
  ),
  js(
    'JavaScript: a write outside the workspace',
    (h) => `attempt('js-write', () => need('fs').writeFileSync('/tmp/${h.marker}-js', 'x'))`,
  ),

  // ---- the runtime itself
  py(
    'signalling the runtime',
    (h) =>
      `import signal\nattempt('kill0', lambda: os.kill(${h.runtimePid}, 0))\nattempt('term', lambda: os.kill(${h.runtimePid}, signal.SIGTERM))\nattempt('killall', lambda: os.kill(-1, signal.SIGKILL))`,
    { harmful: true },
  ),
  py(
    "reading the runtime's memory",
    (h) => `
def peek():
    for line in read('/proc/${h.runtimePid}/maps').decode().splitlines():
        span, perms = line.split()[:2]
        if perms.startswith('r'):
            start = int(span.split('-')[0], 16)
            with open('/proc/${h.runtimePid}/mem', 'rb') as f:
                f.seek(start)
                return f.read(64)
    return b''
attempt('mem', peek)`,
    { escapedIf: (output) => (got(output, 'mem') ? 'read the runtime\u2019s memory' : undefined) },
  ),

  // ---- resources
  py(
    'a fork bomb is capped',
    () => `
import time
n = 0
err = None
try:
    for i in range(100000):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except BaseException as e:
    err = type(e).__name__
print('forked', n, 'then', err, flush=True)
time.sleep(30)`,
    { until: 'timeout', harmful: true },
  ),
  py(
    'a memory bomb is capped',
    () => `
chunks = []
try:
    for i in range(64):
        chunks.append(bytearray(256 << 20))
    print('allocated GiB', len(chunks) / 4)
except MemoryError:
    print('memory refused after MiB', len(chunks) * 256)`,
    { harmful: true },
  ),
  py(
    'a CPU bomb is stopped by the time limit',
    () => `
import threading
def spin():
    while True:
        pass
try:
    for _ in range(4):
        threading.Thread(target=spin, daemon=True).start()
except BaseException as e:
    print('threads refused', type(e).__name__)
spin()`,
    { until: 'timeout', harmful: true },
  ),
  py(
    '1 GiB of output is stopped',
    () => `
block = 'y' * (1 << 20)
for i in range(1024):
    sys.stdout.write(block)
print('wrote 1 GiB')`,
    { harmful: true },
  ),
  py(
    'a 1 GiB file is capped',
    () => `
import signal
try:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
except BaseException:
    pass
block = b'z' * (1 << 20)
written = 0
try:
    with open('big.bin', 'wb') as f:
        for i in range(1024):
            f.write(block)
            written += 1
    print('wrote MiB', written)
except BaseException as e:
    print('file refused after MiB', written, type(e).__name__)`,
    { harmful: true },
  ),
  py(
    'setsid and double-fork escapees end with the run',
    (h) => `
import subprocess, time
attempt('setsid', lambda: repr(subprocess.Popen(['setsid', 'sleep', '${h.marker.replace(/\D/g, '')}.5'])))
def double():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp('sleep', ['sleep', '${h.marker.replace(/\D/g, '')}.25'])
        os._exit(0)
    return 'forked'
attempt('double', double)
print('spawned', flush=True)`,
    { harmful: true },
  ),
  py(
    'escapees end when the run is cancelled',
    (h) => `
import subprocess, time
attempt('setsid', lambda: repr(subprocess.Popen(['setsid', 'sleep', '${h.marker.replace(/\D/g, '')}.5'])))
print('READY', flush=True)
time.sleep(30)`,
    { until: 'cancel', harmful: true },
  ),
  py(
    'escapees end when the run times out',
    (h) => `
import subprocess, time
attempt('setsid', lambda: repr(subprocess.Popen(['setsid', 'sleep', '${h.marker.replace(/\D/g, '')}.5'])))
time.sleep(30)`,
    { until: 'timeout', harmful: true },
  ),
  js(
    'JavaScript: a detached child survives nothing',
    (h) =>
      `attempt('js-spawn', () => { const c = need('child_process').spawn('sleep', ['${h.marker.replace(/\D/g, '')}.75'], { detached: true, stdio: 'ignore' }); c.unref(); return 'spawned ' + c.pid; })`,
    { harmful: true },
  ),

  // ---- what leaves the sandbox
  py(
    'a secret printed by the code is redacted',
    (h) => `print('token is ' + ${q(h.tokenHalves[0])} + ${q(h.tokenHalves[1])})`,
    { heldUnsandboxed: true },
  ),
];
