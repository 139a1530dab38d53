// The controller's and speaker's small HTTP face: Prometheus scrapes /metrics, the kubelet probes /healthz
// (liveness: restart me) and /readyz (readiness: caches synced, able to work). node:http is enough for three
// fixed routes; no framework needed.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

export interface ObservabilityServerOptions {
  /** 0 picks a free port; the chosen one is returned. */
  port: number;
  host?: string;
  metrics: Pick<Metrics, 'registry'>;
  isReady: () => boolean;
  isHealthy: () => boolean;
}

export interface ObservabilityServer {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const { registry } = options.metrics;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, `error: ${error instanceof Error ? error.message : String(error)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      reply(res, 405, 'method not allowed');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics': {
        const body = await registry.metrics();
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
        return;
      }
      case '/healthz':
        probe(res, options.isHealthy(), 'not healthy');
        return;
      case '/readyz':
        probe(res, options.isReady(), 'not ready');
        return;
      default:
        reply(res, 404, 'not found');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers and probes keep connections alive; without this, close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

function probe(res: ServerResponse, ok: boolean, reason: string): void {
  reply(res, ok ? 200 : 503, ok ? 'ok' : reason);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}
