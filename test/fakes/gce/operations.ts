// Operations as GCE runs them: a mutation is accepted at once (an Operation in PENDING), runs later (RUNNING) and
// takes effect when it turns DONE. A failure while running is recorded in operation.error, not as an HTTP
// status, so a client that never waits never learns of it: the fake makes clients wait to be correct.
import type { GceError } from './errors.ts';

export type OperationScope = { kind: 'regions' | 'zones'; name: string } | { kind: 'global' };

export interface Operation {
  kind: 'compute#operation';
  id: string;
  name: string;
  operationType: string;
  targetLink: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  progress: number;
  insertTime: string;
  startTime?: string;
  endTime?: string;
  selfLink: string;
  region?: string;
  zone?: string;
  user: string;
  error?: { errors: { code: string; message: string }[] };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

interface Entry {
  op: Operation;
  project: string;
  scope: OperationScope;
  waiters: (() => void)[];
}

export class Operations {
  private readonly entries = new Map<string, Entry>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private counter = 0;
  /** Time from insert to DONE; half of it PENDING, half RUNNING. */
  durationMs: number;

  constructor(durationMs: number) {
    this.durationMs = durationMs;
  }

  /** Accepts a mutation: returns the PENDING operation; `effect` runs when it completes (throw to fail it). */
  start(
    project: string,
    scope: OperationScope,
    base: string,
    operationType: string,
    targetLink: string,
    effect: () => void,
  ): Operation {
    const id = String(7_000_000_000_000 + ++this.counter);
    const name = `operation-${Date.now()}-${id.slice(-6)}-${operationType}`;
    const scopePath = scope.kind === 'global' ? 'global' : `${scope.kind}/${scope.name}`;
    const op: Operation = {
      kind: 'compute#operation',
      id,
      name,
      operationType,
      targetLink,
      status: 'PENDING',
      progress: 0,
      insertTime: new Date().toISOString(),
      selfLink: `${base}/projects/${project}/${scopePath}/operations/${name}`,
      user: 'drawbridge-test@example.iam.gserviceaccount.com',
    };
    if (scope.kind === 'regions') op.region = `${base}/projects/${project}/regions/${scope.name}`;
    if (scope.kind === 'zones') op.zone = `${base}/projects/${project}/zones/${scope.name}`;
    const entry: Entry = { op, project, scope, waiters: [] };
    this.entries.set(name, entry);
    this.later(this.durationMs / 2, () => {
      op.status = 'RUNNING';
      op.progress = 50;
      op.startTime = new Date().toISOString();
      this.later(this.durationMs / 2, () => this.finish(entry, effect));
    });
    return structuredClone(op);
  }

  /** The operation as it is now, or undefined when there is none by that name in that scope. */
  get(project: string, scope: OperationScope, name: string): Operation | undefined {
    const entry = this.entries.get(name);
    if (!entry || entry.project !== project || !sameScope(entry.scope, scope)) return undefined;
    return structuredClone(entry.op);
  }

  /** Like GCE's wait: answers when the operation is DONE or after `maxMs`, whichever is first. */
  async wait(project: string, scope: OperationScope, name: string, maxMs: number): Promise<Operation | undefined> {
    const entry = this.entries.get(name);
    if (!entry || entry.project !== project || !sameScope(entry.scope, scope)) return undefined;
    if (entry.op.status !== 'DONE') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, maxMs);
        entry.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return structuredClone(entry.op);
  }

  /** Operations not yet DONE (tests wait for zero before reading state). */
  pending(): number {
    return [...this.entries.values()].filter((e) => e.op.status !== 'DONE').length;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const entry of this.entries.values()) for (const w of entry.waiters.splice(0)) w();
  }

  private finish(entry: Entry, effect: () => void): void {
    const { op } = entry;
    try {
      effect();
    } catch (error) {
      const e = error as GceError;
      op.error = { errors: [{ code: String(e.reason ?? 'INTERNAL_ERROR').toUpperCase(), message: e.message }] };
      op.httpErrorStatusCode = e.code ?? 500;
      op.httpErrorMessage = e.reason ?? 'Internal Server Error';
    }
    op.status = 'DONE';
    op.progress = 100;
    op.endTime = new Date().toISOString();
    for (const w of entry.waiters.splice(0)) w();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function sameScope(a: OperationScope, b: OperationScope): boolean {
  if (a.kind === 'global' || b.kind === 'global') return a.kind === b.kind;
  return a.kind === b.kind && a.name === b.name;
}
