// Strips the host's JavaScript realm down to pure computation before sandboxed code runs.
//
// Pyodide's foreign-function interface lets Python reach any JavaScript object that
// Pyodide itself can reach, and from any object `.constructor` leads to the realm's
// intrinsics. The host is therefore safe only if that realm holds no capability: the
// process is started with --disallow-code-generation-from-strings (no eval, no Function
// constructor: reached objects cannot be turned into new code), and this module removes
// every global that is not plain ECMAScript or a harmless helper, so nothing found by
// walking objects leads to `process`, `require`, `fetch`, `WebSocket`, a socket or a file.
// Then the intrinsics are frozen, so the code cannot plant getters or replace methods that
// the host or Node would later run. The file system is also fenced by Node's permission
// model (see plan.ts); the network is not, before Node 25, so this is the layer that
// keeps sockets out of reach.

import process from 'node:process';
import { writeAll } from './host-io.mjs';

/** ECMAScript's own globals: pure computation, no I/O. */
const ECMASCRIPT_GLOBALS = [
  'globalThis',
  'Infinity',
  'NaN',
  'undefined',
  'eval', // inert: code generation from strings is disabled for the whole process
  'isFinite',
  'isNaN',
  'parseFloat',
  'parseInt',
  'decodeURI',
  'decodeURIComponent',
  'encodeURI',
  'encodeURIComponent',
  'escape',
  'unescape',
  'AggregateError',
  'Array',
  'ArrayBuffer',
  'AsyncDisposableStack',
  'Atomics',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'Boolean',
  'DataView',
  'Date',
  'DisposableStack',
  'Error',
  'EvalError',
  'FinalizationRegistry',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'Function',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Intl',
  'Iterator',
  'JSON',
  'Map',
  'Math',
  'Number',
  'Object',
  'Promise',
  'Proxy',
  'RangeError',
  'ReferenceError',
  'Reflect',
  'RegExp',
  'Set',
  'SharedArrayBuffer',
  'String',
  'SuppressedError',
  'Symbol',
  'SyntaxError',
  'TypeError',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'URIError',
  'WeakMap',
  'WeakRef',
  'WeakSet',
  'WebAssembly', // compiles and runs wasm, which can only call functions handed to it
];

/**
 * Node globals kept as they are: data types and codecs with no I/O. Pyodide and
 * Emscripten use TextEncoder/TextDecoder, Buffer (base64) and crypto.getRandomValues.
 */
const KEPT_HOST_GLOBALS = [
  'atob',
  'btoa',
  'Buffer',
  'crypto',
  'DOMException',
  'queueMicrotask',
  'structuredClone',
  'TextDecoder',
  'TextEncoder',
  'URL',
  'URLSearchParams',
];

/** Globals that must be gone (or replaced by our inert stand-in) once this has run. */
const FORBIDDEN = [
  'process',
  'require',
  'module',
  'global',
  'fetch',
  'WebSocket',
  'WebSocketStream',
  'EventSource',
  'XMLHttpRequest',
  'navigator',
  'Worker',
  'BroadcastChannel',
  'MessageChannel',
  'Request',
  'Response',
];

/**
 * Deletes every global that is not on the keep lists and installs inert stand-ins for the
 * few that Emscripten and Pyodide look up at run time: `console` (to stderr, never through
 * a Node stream), `performance.now`, timers that return numbers instead of Node Timeout
 * objects, and a `process` with only the facts Emscripten asks for. Throws if a forbidden
 * global survives, so the host fails closed rather than running code uncontained.
 */
export function stripGlobals() {
  const realPerformance = globalThis.performance;
  const now = () => realPerformance.now();
  const timers = makeTimers();
  const stand_ins = {
    console: makeConsole(),
    performance: Object.freeze({ now, timeOrigin: realPerformance.timeOrigin }),
    process: makeProcess(),
    ...timers,
  };
  const keep = new Set([...ECMASCRIPT_GLOBALS, ...KEPT_HOST_GLOBALS]);
  for (const key of Reflect.ownKeys(globalThis)) {
    if (typeof key === 'string' && keep.has(key)) continue;
    // A non-configurable global cannot be deleted; the check below catches a dangerous one.
    Reflect.deleteProperty(globalThis, key);
  }
  for (const [name, value] of Object.entries(stand_ins)) {
    Object.defineProperty(globalThis, name, {
      value,
      writable: false,
      enumerable: false,
      configurable: false,
    });
  }
  for (const name of FORBIDDEN) {
    const value = globalThis[name];
    if (value !== undefined && value !== stand_ins[name]) {
      throw new Error(`the sandbox could not remove the global '${name}'`);
    }
  }
}

/**
 * Prototypes whose data properties code commonly assigns on its own instances
 * (`err.name = ...`, `obj.toString = ...`). A frozen prototype would make those
 * assignments throw (JavaScript's "override mistake"), so these become accessors whose
 * setter defines the property on the instance instead: what Node's --frozen-intrinsics
 * and SES do. `'*'` means every data property.
 */
const OVERRIDABLE = [
  [Object.prototype, '*'],
  [Function.prototype, ['constructor', 'bind', 'name', 'toString']],
  [Array.prototype, ['toString', 'push', 'concat', Symbol.iterator]],
  [Error.prototype, ['constructor', 'message', 'name', 'toString']],
  ...[EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError].map(
    (E) => [E.prototype, ['constructor', 'message', 'name']],
  ),
  [Promise.prototype, ['constructor']],
  [Object.getPrototypeOf(Uint8Array.prototype), '*'],
];

/**
 * Freezes ECMAScript's intrinsics (constructors, prototypes, namespaces, and everything
 * reachable from them), so the sandboxed code cannot change how the host's own code or
 * Node's behaves afterwards: no getter planted on Object.prototype that Node would call
 * with one of its internal objects as `this`, no replaced Array or String method in the
 * host's path checks. Run after the runtime has loaded (Emscripten adds properties to
 * built-in functions while it starts) and before the sandboxed code.
 */
export function freezeIntrinsics() {
  for (const [proto, keys] of OVERRIDABLE) {
    for (const key of keys === '*' ? Reflect.ownKeys(proto) : keys) enableOverride(proto, key);
  }
  const roots = [
    ...ECMASCRIPT_GLOBALS.filter((n) => n !== 'globalThis').map((n) => globalThis[n]),
    ...hiddenIntrinsics(),
  ];
  const seen = new Set();
  const queue = roots.filter((v) => isObject(v));
  while (queue.length > 0) {
    const value = queue.pop();
    if (seen.has(value)) continue;
    seen.add(value);
    freeze(value);
    for (const key of Reflect.ownKeys(value)) {
      const desc = Reflect.getOwnPropertyDescriptor(value, key);
      for (const v of [desc.value, desc.get, desc.set]) if (isObject(v)) queue.push(v);
    }
    const proto = Reflect.getPrototypeOf(value);
    if (isObject(proto)) queue.push(proto);
  }
}

/**
 * Data properties left writable (never configurable) on frozen intrinsics, because the
 * runtimes assign them: Pyodide sets Error.stackTraceLimit around its error handling.
 * V8 reads it without calling getters, so a non-number there only shortens stack traces.
 */
const WRITABLE = new Map([[Error, new Set(['stackTraceLimit'])]]);

/** Object.freeze, except for the WRITABLE properties; the object stays non-extensible. */
function freeze(value) {
  const writable = WRITABLE.get(value);
  if (!writable) {
    Object.freeze(value);
    return;
  }
  Object.preventExtensions(value);
  for (const key of Reflect.ownKeys(value)) {
    const desc = Reflect.getOwnPropertyDescriptor(value, key);
    const lock = 'value' in desc && !writable.has(key) ? { writable: false } : {};
    Reflect.defineProperty(value, key, { ...lock, configurable: false });
  }
}

function isObject(v) {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/** Intrinsics that no global names: iterator, generator and async function prototypes. */
function hiddenIntrinsics() {
  const proto = Reflect.getPrototypeOf;
  const generator = function* () {};
  const asyncGenerator = async function* () {};
  const asyncFunction = async function () {};
  return [
    proto(generator),
    proto(generator()),
    proto(asyncGenerator),
    proto(asyncGenerator()),
    proto(asyncFunction),
    proto([][Symbol.iterator]()),
    proto(new Map().entries()),
    proto(new Set().values()),
    proto(''[Symbol.iterator]()),
    proto(/a/[Symbol.matchAll]('')),
  ];
}

function enableOverride(proto, key) {
  const desc = Reflect.getOwnPropertyDescriptor(proto, key);
  if (!desc || !('value' in desc) || !desc.configurable) return;
  const { value } = desc;
  Reflect.defineProperty(proto, key, {
    get() {
      return value;
    },
    set(next) {
      if (this === proto)
        throw new TypeError(`Cannot assign to read only property '${String(key)}'`);
      Reflect.defineProperty(this, key, {
        value: next,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    },
    enumerable: desc.enumerable,
    configurable: false,
  });
}

function makeConsole() {
  const line = (...args) => writeAll(2, args.map((a) => safeString(a)).join(' ') + '\n');
  return Object.freeze({
    log: line,
    info: line,
    warn: line,
    error: line,
    debug: line,
    trace: line,
  });
}

function safeString(value) {
  try {
    return typeof value === 'string' ? value : String(value);
  } catch {
    return '[unprintable]';
  }
}

/**
 * Node's timers return Timeout objects linked into Node's internal timer lists; these
 * wrappers hand out plain numbers and keep the real objects private.
 */
function makeTimers() {
  const live = new Map();
  let next = 1;
  const track = (handle) => {
    const id = next++;
    live.set(id, handle);
    return id;
  };
  const untrack = (clear) => (id) => {
    const handle = live.get(id);
    if (handle === undefined) return;
    live.delete(id);
    clear(handle);
  };
  const { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate } =
    globalThis;
  const callable = (fn) => {
    if (typeof fn !== 'function') throw new TypeError('the callback must be a function');
    return fn;
  };
  return {
    setTimeout: (fn, ms, ...args) => {
      const id = track(
        setTimeout(() => {
          live.delete(id);
          callable(fn)(...args);
        }, ms),
      );
      return id;
    },
    clearTimeout: untrack(clearTimeout),
    setInterval: (fn, ms, ...args) => track(setInterval(() => callable(fn)(...args), ms)),
    clearInterval: untrack(clearInterval),
    setImmediate: (fn, ...args) => {
      const id = track(
        setImmediate(() => {
          live.delete(id);
          callable(fn)(...args);
        }),
      );
      return id;
    },
    clearImmediate: untrack(clearImmediate),
  };
}

/**
 * What Emscripten uses of `process` after start-up: the version string (sys.platform
 * details), getuid and umask (os.getuid, os.umask), and exitCode (os._exit). Nothing
 * else: no env, no streams.
 */
function makeProcess() {
  const { version, platform } = process;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  let exitCode;
  return Object.freeze({
    version,
    versions: Object.freeze({ node: process.versions.node }),
    platform,
    getuid: () => uid,
    umask: () => 0o022,
    // Emscripten's exit() (os._exit) stores its status here before it throws ExitStatus.
    get exitCode() {
      return exitCode;
    },
    set exitCode(code) {
      exitCode = code;
    },
  });
}
