// Test plumbing: a moto server of this test's own (localstack/start on a free port), and a recording proxy in front
// of it that counts AWS API calls by Action, from the endpoint side, so call counts do not trust the provider.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '../..');

export interface Seed {
  vpcId: string;
  subnets: Record<string, string>;
  nodeSecurityGroup: string;
  nodes: Record<string, { instanceId: string; ip: string; providerID: string }>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

export async function startMoto(
  cluster: string,
  nodes: string[],
  options: { port?: number } = {},
): Promise<{ endpoint: string; seed: Seed; stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const env = {
    ...process.env,
    DRAWBRIDGE_MOTO_PORT: String(port),
    DRAWBRIDGE_CLUSTER: cluster,
    AWS_REGION: 'us-east-1',
  };
  await run(join(repo, 'localstack/start'), nodes, { env });
  const cache = process.env.DRAWBRIDGE_CACHE ?? join(process.env.HOME ?? '', '.cache/drawbridge');
  const seed = JSON.parse(readFileSync(join(cache, `run/moto-${port}/seed.json`), 'utf8')) as Seed;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seed,
    stop: async () => void (await run(join(repo, 'localstack/stop'), [], { env })),
  };
}

/** One request as the proxy saw it: when, which API family (as our limiters split them), and any fault answered. */
export interface ProxiedRequest {
  at: number;
  action: string;
  family: 'elbv2Read' | 'elbv2Write' | 'ec2';
  fault?: 'throttle' | '5xx';
  /** The request's form parameters (query protocol), for asserting what was asked when moto cannot show it. */
  params: URLSearchParams;
}

/** Shares (0..1) of requests answered with a throttling error or a 5xx instead of being passed on. */
export interface Faults {
  throttle: number;
  serverError: number;
  /** Seed of the proxy's own PRNG, so a failing run can be replayed. */
  seed?: number;
}

/** mulberry32: a tiny seeded PRNG; Math.random would make a fault pattern unreproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// EC2 speaks ec2Query (Version 2016-11-15), ELBv2 awsQuery (2015-12-01); their error bodies differ, and real AWS
// throttles EC2 with 503 RequestLimitExceeded and ELBv2 with 400 Throttling (reference/libs.md section 3).
const EC2_VERSION = '2016-11-15';
function faultResponse(ec2: boolean, fault: 'throttle' | '5xx'): { status: number; body: string } {
  const [status, code, message] =
    fault === 'throttle'
      ? ec2
        ? [503, 'RequestLimitExceeded', 'Request limit exceeded.']
        : [400, 'Throttling', 'Rate exceeded']
      : [500, ec2 ? 'InternalError' : 'InternalFailure', 'injected server error'];
  const body = ec2
    ? `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>injected</RequestID></Response>`
    : `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>`;
  return { status, body };
}

/**
 * A pass-through HTTP proxy recording each request's Action (query protocol: form-encoded body) and, with
 * `faults`, answering a share of them with throttling or 5xx errors in AWS's own shapes instead of passing them on.
 */
export async function recordingProxy(
  upstream: string,
  options: { faults?: Faults } = {},
): Promise<{ endpoint: string; actions: string[]; requests: ProxiedRequest[]; close(): Promise<void> }> {
  const target = new URL(upstream);
  const actions: string[] = [];
  const requests: ProxiedRequest[] = [];
  const random = prng(options.faults?.seed ?? 1);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const form = new URLSearchParams(body.toString('utf8'));
      const action = form.get('Action');
      if (action) {
        const ec2 = form.get('Version') === EC2_VERSION;
        const family = ec2 ? 'ec2' : action.startsWith('Describe') ? 'elbv2Read' : 'elbv2Write';
        const roll = random();
        const f = options.faults;
        const fault = !f
          ? undefined
          : roll < f.throttle
            ? 'throttle'
            : roll < f.throttle + f.serverError
              ? '5xx'
              : undefined;
        requests.push({ at: Date.now(), action, family, params: form, ...(fault ? { fault } : {}) });
        if (fault) {
          const { status, body: xml } = faultResponse(ec2, fault);
          res.writeHead(status, { 'content-type': 'text/xml' });
          res.end(xml);
          return;
        }
        actions.push(action);
      }
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    actions,
    requests,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** The most requests of one family that arrived within any window of `windowMs` (a sliding window). */
export function peakRate(
  requests: readonly ProxiedRequest[],
  family: ProxiedRequest['family'],
  windowMs = 1000,
): number {
  const times = requests.filter((r) => r.family === family).map((r) => r.at);
  let peak = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= windowMs) i++;
    peak = Math.max(peak, j - i + 1);
  }
  return peak;
}

/** Mutating calls only (everything but Describe*), counted by action, for exact assertions. */
export function mutations(actions: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of actions) if (!a.startsWith('Describe')) out[a] = (out[a] ?? 0) + 1;
  return out;
}

/**
 * An ACM certificate issued by moto for `domain` (ELBv2 TLS listeners need one that exists: moto answers
 * CertificateNotFound for any other ARN). A raw ACM JSON call: the project has no ACM client, and moto checks no
 * signature, only the credential scope's service and region.
 */
export async function issueCertificate(endpoint: string, domain: string): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'CertificateManager.RequestCertificate',
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/acm/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify({ DomainName: domain, ValidationMethod: 'DNS' }),
  });
  const body = (await res.json()) as { CertificateArn?: string };
  if (!res.ok || !body.CertificateArn)
    throw new Error(`moto ACM RequestCertificate: ${res.status} ${JSON.stringify(body)}`);
  return body.CertificateArn;
}
