// Probes node health the way the clouds' own health checks do: HTTP GET of kube-proxy's healthz
// (`:10256/healthz` by default) on each eligible node, plus each `externalTrafficPolicy: Local` Service's
// healthCheckNodePort. A target turns unhealthy after `failureThreshold` consecutive failures and healthy again
// on the first success. What a flip means (metrics, Events, logs; never load-balancer membership) is health.ts.
import { http } from '../../lib/node-http.ts';

export interface ProbeTarget {
  node: string;
  address: string;
  port: number;
  path: string;
}

export interface ProberOptions {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  /** Current targets; called at the start of every round. */
  targets: () => ProbeTarget[];
  /** A target's health flipped. */
  onChange: (target: ProbeTarget, healthy: boolean, detail: string) => void;
  /** Probes in flight at once, so a big cluster does not open thousands of sockets per round. */
  parallelism?: number;
}

interface TargetState {
  healthy: boolean;
  failures: number;
}

export const targetKey = (t: Pick<ProbeTarget, 'node' | 'port'>) => `${t.node}:${t.port}`;

export class NodeProber {
  private readonly o: ProberOptions;
  private readonly state = new Map<string, TargetState>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round: Promise<void> | undefined;

  constructor(options: ProberOptions) {
    this.o = options;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      this.round = this.probeOnce();
      await this.round;
      if (this.running) {
        this.timer = setTimeout(loop, this.o.intervalMs);
        this.timer.unref();
      }
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.round;
  }

  /** Unknown targets count as healthy: a node is innocent until probed (and a fresh controller must not flap). */
  isHealthy(node: string, port: number): boolean {
    return this.state.get(targetKey({ node, port }))?.healthy ?? true;
  }

  /** One round over every target; exposed so tests can probe on demand. */
  async probeOnce(): Promise<void> {
    const targets = this.o.targets();
    const live = new Set(targets.map(targetKey));
    for (const key of this.state.keys()) if (!live.has(key)) this.state.delete(key);
    const queue = [...targets];
    const workers = Array.from({ length: Math.min(this.o.parallelism ?? 32, queue.length) }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) this.record(t, await probe(t, this.o.timeoutMs));
    });
    await Promise.all(workers);
  }

  private record(target: ProbeTarget, result: { ok: boolean; detail: string }): void {
    const key = targetKey(target);
    const s = this.state.get(key) ?? { healthy: true, failures: 0 };
    this.state.set(key, s);
    if (result.ok) {
      s.failures = 0;
      if (!s.healthy) {
        s.healthy = true;
        this.o.onChange(target, true, result.detail);
      }
      return;
    }
    s.failures++;
    if (s.healthy && s.failures >= this.o.failureThreshold) {
      s.healthy = false;
      this.o.onChange(target, false, result.detail);
    }
  }
}

function probe(t: ProbeTarget, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const host = t.address.includes(':') ? `[${t.address}]` : t.address;
  return new Promise((resolve) => {
    const req = http.request(`http://${host}:${t.port}${t.path}`, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
      resolve({ ok, detail: `HTTP ${res.statusCode} from ${host}:${t.port}${t.path}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ ok: false, detail: `${host}:${t.port}${t.path}: ${e.message}` }));
    req.end();
  });
}
