// Whether this node may announce: its probation is over and, when a health endpoint is given (kube-proxy's
// `/healthz`), the node is healthy. Two failed checks in a row make it unhealthy; it is healthy again after
// `probationMs` of passing checks (the first answer ever counts at once: probation covers start-up).
import { checkHealthUrl } from './health.ts';

export interface EligibilityOptions {
  probationMs: number;
  nodeHealthUrl?: string;
  nodeHealthIntervalMs?: number;
  nodeHealthTimeoutMs?: number;
  /** Called when probation ends or the node's health changes, with the resulting eligibility. */
  changed(eligible: boolean, nodeHealthy: boolean): void;
  /** Called when the health check starts failing. */
  failing(url: string): void;
  /**
   * Called once, when the node's health is first known: its first passing check, or the second failing one in a row
   * (which changes nothing, the node being unhealthy until its first answer). Not called without a health URL.
   */
  known?(nodeHealthy: boolean): void;
}

export interface EligibilityTracker {
  stop(): void;
}

export function startEligibility(o: EligibilityOptions): EligibilityTracker {
  let stopped = false;
  let probationOver = o.probationMs <= 0;
  const health = { healthy: o.nodeHealthUrl === undefined, failures: 0, passingSince: -1, checks: 0 };
  const changed = () => o.changed(probationOver && health.healthy, health.healthy);
  const probationTimer =
    o.probationMs > 0
      ? setTimeout(() => {
          probationOver = true;
          changed();
        }, o.probationMs)
      : undefined;
  let inFlight = false;
  let known = false;
  const check = async () => {
    if (inFlight || o.nodeHealthUrl === undefined) return;
    inFlight = true;
    let ok = false;
    try {
      ok = await checkHealthUrl(o.nodeHealthUrl, o.nodeHealthTimeoutMs ?? 250);
    } finally {
      inFlight = false;
    }
    if (stopped) return;
    const now = performance.now();
    health.checks++;
    if (!known && (ok || health.failures + 1 >= 2)) {
      known = true;
      o.known?.(ok);
    }
    if (ok) {
      health.failures = 0;
      if (health.passingSince < 0) health.passingSince = now;
      if (!health.healthy && (health.checks === 1 || now - health.passingSince >= o.probationMs)) {
        health.healthy = true;
        changed();
      }
    } else {
      health.passingSince = -1;
      if (++health.failures >= 2 && health.healthy) {
        health.healthy = false;
        o.failing(o.nodeHealthUrl);
        changed();
      }
    }
  };
  const healthTimer =
    o.nodeHealthUrl === undefined ? undefined : setInterval(() => void check(), o.nodeHealthIntervalMs ?? 100);
  void check();
  return {
    stop() {
      stopped = true;
      clearTimeout(probationTimer);
      clearInterval(healthTimer);
    },
  };
}
