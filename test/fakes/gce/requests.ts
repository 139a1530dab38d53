// The fake's request log, quotas and fault injection: everything about a request that is not Compute semantics.

/** GCE's per-minute quota groups, per project (Compute Engine "API rate limits"). */
export type QuotaGroup = 'read' | 'list' | 'write' | 'operationRead';

export interface LoggedRequest {
  method: string;
  /** The URL path as sent. */
  path: string;
  /** The path with names replaced by placeholders: `POST regions/{region}/targetPools/{name}/addInstance`. */
  pattern: string;
  group: QuotaGroup;
  status: number;
  /** The parsed request body of a mutation (tests check batch sizes, e.g. instances per addInstance). */
  body?: Record<string, unknown>;
}

const NAMED: Record<string, string> = {
  projects: '{project}',
  regions: '{region}',
  zones: '{zone}',
  operations: '{operation}',
  addresses: '{name}',
  httpHealthChecks: '{name}',
  firewalls: '{name}',
  targetPools: '{name}',
  forwardingRules: '{name}',
  instances: '{name}',
  backendServices: '{name}',
  healthChecks: '{name}',
  instanceGroups: '{name}',
  subnetworks: '{name}',
};

/** `POST /compute/v1/projects/p/regions/r/targetPools/x/addInstance` -> `POST regions/{region}/targetPools/{name}/addInstance`. */
export function patternOf(method: string, path: string): string {
  const parts = path.replace(/^\/compute\/v1\//, '').split('/');
  const out = parts.map((part, i) => {
    const placeholder = NAMED[parts[i - 1] ?? ''];
    return placeholder && !NAMED[part] ? placeholder : part;
  });
  return `${method} ${out.slice(2).join('/')}`;
}

export class RequestLog {
  readonly entries: LoggedRequest[] = [];

  /** Requests that ask GCE to change something (not reads, not operation polling). */
  mutations(): LoggedRequest[] {
    return this.entries.filter((e) => e.group === 'write');
  }

  /** Count by pattern, e.g. {'POST regions/{region}/targetPools': 1}. */
  counts(filter: (e: LoggedRequest) => boolean = () => true): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.entries.filter(filter)) counts[e.pattern] = (counts[e.pattern] ?? 0) + 1;
    return counts;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/** Fixed one-minute windows per project and group, like GCE's per-minute quotas. */
export class Quotas {
  limits: Partial<Record<QuotaGroup, number>>;
  windowMs: number;
  private readonly used = new Map<string, { start: number; count: number }>();

  constructor(limits: Partial<Record<QuotaGroup, number>>, windowMs = 60_000) {
    this.limits = limits;
    this.windowMs = windowMs;
  }

  /** Counts one request; false when it is over the limit (the request is then refused and not counted). */
  take(project: string, group: QuotaGroup, now = Date.now()): boolean {
    const limit = this.limits[group];
    if (limit === undefined) return true;
    const key = `${project}/${group}`;
    let window = this.used.get(key);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 };
      this.used.set(key, window);
    }
    if (window.count >= limit) return false;
    window.count++;
    return true;
  }
}

export interface Faults {
  /** Fraction of requests answered 503 backendError (seeded, so runs repeat). */
  errorRate: number;
  /** Fraction of requests answered 403 rateLimitExceeded (seeded), as a project over its API rate is answered. */
  rateLimitRate?: number;
  /** Added before every answer. */
  latencyMs: number;
  /** Added before answering requests whose `METHOD /path` matches (on top of `latencyMs`), to order races. */
  slow?: { match: RegExp; ms: number };
  /** The next N requests (matching `match`, if set) fail with this status; counts down. */
  failNext?: { count: number; status: number; match?: RegExp };
}

export { seeded } from '../../../providers/fake/random.ts';
