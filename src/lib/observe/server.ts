// The controller's and speaker's small HTTP face: Prometheus scrapes /metrics, the kubelet probes /healthz
// (liveness: restart me) and /readyz (readiness: caches synced, able to work). node:http(s) is enough for three
// fixed routes; no framework needed.
//
// Given `tls` and `authorize`, it serves HTTPS and /metrics only to callers `authorize` admits (see access.ts),
// as current Kubernetes controllers do; the probes stay open because the kubelet sends no credentials.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { http, https } from '../node-http.ts';
import type { Authorize } from './access.ts';
import type { ServingCertificate } from './selfsigned.ts';

export interface ObservabilityServerOptions {
  /** 0 picks a free port; the chosen one is returned. */
  port: number;
  host?: string;
  metrics: { registry: Registry };
  isReady: () => boolean;
  isHealthy: () => boolean;
  /** Serve HTTPS with this certificate; plain HTTP without it. */
  tls?: ServingCertificate;
  /** Gate /metrics; without it anyone who reaches the port may scrape. */
  authorize?: Authorize;
}

export interface ObservabilityServer {
  /** The port actually bound. */
  port: number;
  /** 'https' when started with `tls`. */
  scheme: 'http' | 'https';
  close(): Promise<void>;
}

export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const { registry } = options.metrics;
  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, `error: ${error instanceof Error ? error.message : String(error)}`);
      else res.destroy();
    });
  };
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, listener)
    : http.createServer(listener);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      reply(res, 405, 'method not allowed');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics': {
        if (options.authorize) {
          const decision = await options.authorize(req.headers.authorization, path);
          if (decision.status !== 200) {
            if (decision.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
            reply(res, decision.status, decision.reason);
            return;
          }
        }
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
    scheme: options.tls ? 'https' : 'http',
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
