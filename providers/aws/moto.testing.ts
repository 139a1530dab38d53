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
): Promise<{ endpoint: string; seed: Seed; stop(): Promise<void> }> {
  const port = await freePort();
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

/** A pass-through HTTP proxy recording each request's Action (query protocol: form-encoded body). */
export async function recordingProxy(
  upstream: string,
): Promise<{ endpoint: string; actions: string[]; close(): Promise<void> }> {
  const target = new URL(upstream);
  const actions: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = new URLSearchParams(body.toString('utf8')).get('Action');
      if (action) actions.push(action);
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
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** Mutating calls only (everything but Describe*), counted by action, for exact assertions. */
export function mutations(actions: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of actions) if (!a.startsWith('Describe')) out[a] = (out[a] ?? 0) + 1;
  return out;
}
