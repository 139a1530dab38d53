// The node health check's one request (kube-proxy's /healthz by default): a GET that passes on a 2xx answer within the
// timeout, redirects followed (up to 20, as fetch() does, which this replaced). Plain node:http / node:https rather
// than fetch(): the first fetch() loads undici, about 3 MB of the speaker's resident memory (docs/benchmarks.md:
// +17.5 MB in a bare node, ~3 MB of the speaker).
import type { IncomingMessage } from 'node:http';
import { http, https } from '../lib/node-http.ts';

const MAX_REDIRECTS = 20;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Whether GET url answers 2xx, body read, within timeoutMs (all redirects included); false on any error. */
export async function checkHealthUrl(url: string, timeoutMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    let target = new URL(url);
    for (let hops = 0; hops <= MAX_REDIRECTS; hops++) {
      const { status, location } = await get(target, signal);
      if (!REDIRECTS.has(status) || location === undefined) return status >= 200 && status <= 299;
      target = new URL(location, target);
    }
    return false;
  } catch {
    return false;
  }
}

function get(url: URL, signal: AbortSignal): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (client === undefined) throw new Error(`unsupported protocol ${url.protocol}`);
    const req = client.get(url, { signal }, (res: IncomingMessage) => {
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('response cut short'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
      res.resume();
    });
    req.on('error', reject);
  });
}
