// The node health check's one request (kube-proxy's /healthz by default): a GET that passes on a 2xx answer within the
// timeout, redirects followed (up to 20, as fetch() does, which this replaced). Plain node:http / node:https rather
// than fetch(): the first fetch() loads undici, about 3 MB of the speaker's resident memory (docs/benchmarks.md:
// +17.5 MB in a bare node, ~3 MB of the speaker).
import type { IncomingMessage } from 'node:http';
import { http, https } from '../lib/node-http.ts';

const MAX_REDIRECTS = 20;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Whether GET url answers 2xx, body read, within timeoutMs (all redirects included); false on any error. The timeout
 * counts the time this process could have read the answer (see loopTimeout): on an idle machine it is timeoutMs.
 */
export async function checkHealthUrl(url: string, timeoutMs: number): Promise<boolean> {
  const { signal, clear } = loopTimeout(timeoutMs);
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
  } finally {
    clear();
  }
}

/** Steps a timeout is counted in, and how much of one step's wall time counts at most. */
const STEPS = 5;
const MAX_STEP_SHARE = 2;

/**
 * An AbortSignal aborted after `timeoutMs`, counted in steps of a fifth of it, each counting at most two steps
 * however late its timer fired. When the loop is blocked (a long computation) or the process is starved of CPU on an
 * overloaded machine, a wall-clock timer fires in the same loop turn that would read the answer already waiting, and
 * the check fails for the checker's own lateness, not the node's: every speaker of a busy machine would then call
 * its own node unhealthy at once. Counted this way a late turn costs the answer at most two steps; on time, the
 * timeout is the wall-clock one, and a node that does not answer fails the check as before.
 */
function loopTimeout(timeoutMs: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const step = timeoutMs / STEPS;
  let counted = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (from: number) => {
    timer = setTimeout(() => {
      const now = performance.now();
      counted += Math.min(now - from, MAX_STEP_SHARE * step);
      // At the end of this loop turn, after its I/O: an answer that arrived while the loop was busy is read first.
      if (counted >= timeoutMs - 1) setImmediate(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)));
      else arm(now);
    }, step);
  };
  arm(performance.now());
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
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
