/**
 * What checking a bearer token costs per request, for each kind Cog accepts: the local
 * token, a service token (1 and 100 stored: every hash is compared and the file is statted
 * per call), an OIDC JWT against a cached JWKS, an opaque token by introspection (a request
 * to the issuer per call), and a JWT through the chain `cog serve` builds (local, then
 * service, then OIDC). The issuer is a real `oidc-provider` on loopback
 * (test/helpers/oidc-provider.ts). A second table puts the local token beside a JWT end to
 * end: an MCP `ping` POST on an open session of an in-process `startHttpServer`, over one
 * keep-alive socket. Returns the tables; asserts nothing, but throws when a token it
 * measures is refused, since that would time the refusal instead.
 *
 * BENCH_AUTH_CALLS (default 2000) sets the measured calls per kind, BENCH_AUTH_INTROSPECTIONS
 * (200) those of introspection, BENCH_AUTH_PINGS (2000) the pings per token.
 */
import { pathToFileURL } from 'node:url';
import {
  anyOf,
  SCOPES,
  verifierAuthenticator,
  type Authenticator,
  type Identity,
} from '../../server/auth/identity.js';
import { createOidcAuthenticator } from '../../server/auth/oidc.js';
import { createServiceToken, serviceTokenAuthenticator } from '../../server/auth/service-tokens.js';
import { generateToken, localTokenVerifier } from '../../server/auth/tokens.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { CLIENTS, COG_SCOPES, startTestIssuer, type TestIssuer } from '../helpers/oidc-provider.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { LightClient } from './mcp-light-client.js';
import { atMost, formatTable, type BenchTable } from './report.js';

const CALLS = Number(process.env.BENCH_AUTH_CALLS ?? 2000);
const INTROSPECTIONS = Number(process.env.BENCH_AUTH_INTROSPECTIONS ?? 200);
const PINGS = Number(process.env.BENCH_AUTH_PINGS ?? 2000);
/** p50 budget of a verification that stays in this process. */
const TARGET_US = 200;
/** Measured pings alternate between the tokens in windows of this many. */
const PING_WINDOW = 100;

/** Nearest rank; NaN for no samples. */
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? NaN;
const ascending = (xs: number[]) => [...xs].sort((a, b) => a - b);

interface Kind {
  label: string;
  authenticate: Authenticator;
  token: string;
  via: Identity['via'];
  calls: number;
  /** In-process verification has the µs budget; introspection is a network call. */
  target: boolean;
}

interface Timing {
  firstUs: number;
  /** Each measured call, in µs, sorted. */
  sorted: number[];
  issuerRequests: number;
}

const issuerRequests = (issuer: TestIssuer) => [...issuer.hits.values()].reduce((a, b) => a + b, 0);

/**
 * One call first (for a JWT, the one that fetches the JWKS), a tenth of the calls as
 * warm-up, then `calls` back to back, each timed on its own.
 */
async function timeKind(kind: Kind, issuer: TestIssuer): Promise<Timing> {
  const once = async () => {
    const t0 = performance.now();
    const identity = await kind.authenticate(kind.token);
    const us = (performance.now() - t0) * 1000;
    if (identity?.via !== kind.via) {
      throw new Error(`${kind.label}: the token was not accepted as ${kind.via}`);
    }
    return us;
  };
  const firstUs = await once();
  for (let i = 0; i < Math.ceil(kind.calls / 10); i++) await once();
  const before = issuerRequests(issuer);
  const samples: number[] = [];
  for (let i = 0; i < kind.calls; i++) samples.push(await once());
  return {
    firstUs,
    sorted: ascending(samples),
    issuerRequests: (issuerRequests(issuer) - before) / kind.calls,
  };
}

function verificationTable(kinds: Kind[], timings: Timing[]): BenchTable {
  return {
    title: `Bearer token verification per request, in-process, after warm-up (${CALLS} calls each, ${INTROSPECTIONS} for introspection)`,
    head: [
      'token',
      'calls',
      'first call µs',
      'p50 µs',
      'p99 µs',
      'issuer requests/call',
      'target',
      'result',
    ],
    rows: kinds.map((k, i) => {
      const t = timings[i]!;
      const p50 = percentile(t.sorted, 0.5);
      return [
        k.label,
        String(t.sorted.length),
        t.firstUs.toFixed(0),
        p50.toFixed(1),
        percentile(t.sorted, 0.99).toFixed(1),
        t.issuerRequests.toFixed(2),
        k.target ? `p50 ≤ ${TARGET_US}` : 'none (network call)',
        k.target ? atMost(p50, TARGET_US) : '-',
      ];
    }),
    notes: [
      'Each call is `await authenticate(token)` timed alone with performance.now(); the identity it returns is checked to be of the expected kind.',
      'first call: before warm-up. For the JWT it is the one that fetches the JWKS (discovery ran at start-up); later calls use the cached keys, as issuer requests/call shows.',
      'full check: signature (WebCrypto), iss, aud, exp/nbf and sub on every call (verifiedCacheMs: 0). seen before: the default, where a JWT verified once is taken again for up to 60 s, never past its exp (server/auth/verified-cache.ts).',
      "cog serve's chain: anyOf(local, service tokens (1 stored)) then OIDC with the default cache, as server/cli/serve.ts builds it, so a JWT pays for the local and service checks first.",
      'Introspection: each call is an HTTP request to the issuer (oidc-provider on loopback), so no in-process target applies.',
    ],
  };
}

interface PingTally {
  label: string;
  session: LightClient;
  latencies: number[];
  /** The server's `authenticate` of each measured request, in µs. */
  verifyUs: number[];
  ms: number;
}

/** Where the server's authenticator records its time; nothing is recorded while unset. */
interface VerifyProbe {
  samples?: number[];
}

/** `authenticate` timed per call into `probe`, to show verification's share of a request. */
function probed(authenticate: Authenticator, probe: VerifyProbe): Authenticator {
  return async (token) => {
    const t0 = performance.now();
    try {
      return await authenticate(token);
    } finally {
      probe.samples?.push((performance.now() - t0) * 1000);
    }
  };
}

async function pingTable(
  server: HttpServerHandle,
  probe: VerifyProbe,
  tokens: [string, string][],
): Promise<BenchTable> {
  const tallies: PingTally[] = [];
  for (const [label, token] of tokens) {
    const session = new LightClient(
      server.url,
      { authorization: `Bearer ${token}` },
      'cog-bench-auth',
    );
    await session.initialize();
    for (let i = 0; i < PING_WINDOW * 2; i++) await session.ping();
    tallies.push({ label, session, latencies: [], verifyUs: [], ms: 0 });
  }
  // Alternating windows, so that load from elsewhere on the machine falls on both alike.
  for (let done = 0; done < PINGS; done += PING_WINDOW) {
    for (const t of tallies) {
      probe.samples = t.verifyUs;
      const t0 = performance.now();
      for (let i = 0; i < Math.min(PING_WINDOW, PINGS - done); i++) {
        t.latencies.push(await t.session.ping());
      }
      t.ms += performance.now() - t0;
    }
  }
  delete probe.samples;
  await Promise.all(tallies.map((t) => t.session.close()));
  const local = percentile(ascending(tallies[0]!.latencies), 0.5);
  return {
    title: `MCP ping over Streamable HTTP (in-process startHttpServer, one open session, one keep-alive socket), ${PINGS} requests per token after ${PING_WINDOW * 2} warm-up`,
    head: [
      'token',
      'requests',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'p50 − local ms',
      'verify p50 µs (in server)',
      'target',
      'result',
    ],
    rows: tallies.map((t) => {
      const sorted = ascending(t.latencies);
      const p50 = percentile(sorted, 0.5);
      const verify = percentile(ascending(t.verifyUs), 0.5);
      return [
        t.label,
        String(sorted.length),
        (sorted.length / (t.ms / 1000)).toFixed(0),
        p50.toFixed(3),
        percentile(sorted, 0.99).toFixed(3),
        (p50 - local).toFixed(3),
        verify.toFixed(1),
        `verify p50 ≤ ${TARGET_US}`,
        atMost(verify, TARGET_US),
      ];
    }),
    notes: [
      "Both tokens go to the same server, whose authenticator is cog serve's chain (local, service tokens, OIDC with a cached JWKS); client and server share this process. verify: that authenticator's own time per request, timed inside the server.",
      `Requests back to back on one connection, alternating between the tokens every ${PING_WINDOW}; requests/s is requests over their own wall time. The per-request rate limit is raised out of the way.`,
      'target: the verification budget of the table above, for the authenticator inside real requests. Called with the event loop idle in between (as between requests), a verification costs more than back to back, so a miss here with ok above is not a contradiction. None is set for requests/s or p50.',
    ],
  };
}

/** Both tables: verification by kind, then ping end to end with the local token and a JWT. */
export async function benchAuth(): Promise<BenchTable[]> {
  const home = tempHome('cog-bench-auth-');
  const many = tempHome('cog-bench-auth-many-');
  const issuer = await startTestIssuer();
  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  let server: HttpServerHandle | undefined;
  try {
    const scopes = { scopes: SCOPES };
    const service1 = createServiceToken(home.home, 'bench-1', scopes).token;
    let service100 = '';
    for (let i = 0; i < 100; i++) {
      service100 = createServiceToken(many.home, `bench-${i}`, scopes).token;
    }
    const localToken = generateToken();
    const local = verifierAuthenticator(localTokenVerifier(localToken));
    const service = serviceTokenAuthenticator(home.home);
    let audience = '';
    const oidc = await createOidcAuthenticator({
      issuer: issuer.issuer,
      audience: () => audience,
      introspection: { clientId: CLIENTS.cog.id, clientSecret: CLIENTS.cog.secret },
    });
    // The same, checking every JWT in full: what a token costs the first time it is seen.
    const oidcUncached = await createOidcAuthenticator({
      issuer: issuer.issuer,
      audience: () => audience,
      verifiedCacheMs: 0,
    });
    const chain = anyOf(anyOf(local, service), oidc);
    const probe: VerifyProbe = {};
    server = await startHttpServer(runtime, {
      auth: {
        authenticate: probed(chain, probe),
        oauth: { authorizationServers: [issuer.issuer] },
      },
      requestsPerMinute: 1e9,
    });
    audience = server.resource ?? server.url;
    const jwt = await issuer.token({ resource: audience, scope: COG_SCOPES });
    const opaque = await issuer.token({ resource: audience, scope: COG_SCOPES, client: 'opaque' });

    const kind = (label: string, authenticate: Authenticator, token: string, via: Kind['via']) =>
      ({ label, authenticate, token, via, calls: CALLS, target: true }) satisfies Kind;
    const kinds: Kind[] = [
      kind('local token', local, localToken, 'local'),
      kind('service token, 1 stored', service, service1, 'service'),
      kind(
        'service token, 100 stored',
        serviceTokenAuthenticator(many.home),
        service100,
        'service',
      ),
      kind('OIDC JWT, full check (cached JWKS)', oidcUncached, jwt, 'oidc'),
      kind('OIDC JWT, seen before', oidc, jwt, 'oidc'),
      kind("OIDC JWT via cog serve's chain", chain, jwt, 'oidc'),
      {
        ...kind('opaque, introspected', oidc, opaque, 'oidc'),
        calls: INTROSPECTIONS,
        target: false,
      },
    ];
    const timings: Timing[] = [];
    for (const k of kinds) timings.push(await timeKind(k, issuer));
    return [
      verificationTable(kinds, timings),
      await pingTable(server, probe, [
        ['local token', localToken],
        ['OIDC JWT', jwt],
      ]),
    ];
  } finally {
    await server?.close();
    await runtime.close();
    await issuer.close();
    home.cleanup();
    many.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const t of await benchAuth()) process.stdout.write(formatTable(t));
}
