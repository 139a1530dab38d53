// Which running EC2 instance stands behind each node, remembered for a short while. Every ensure and updateHosts
// needs the node set's instances, and every Service of a cluster has the same node set: without a cache a burst of
// 1,000 Services costs 1,000 identical DescribeInstances calls against EC2's request limits. Like the in-tree
// provider's instance cache, an entry is trusted for a bounded time (a stopped instance is noticed within
// `ttlMs`; until then registering it fails and the reconcile is retried). Concurrent lookups of the same nodes share
// one call. Nodes with no running instance are not cached: they are looked up again next time.
import type { Sender } from './clients.ts';
import { type BackendNode, type NodeInstance, resolveInstances } from './network.ts';

export const INSTANCE_TTL_MS = 30_000;
const LOOKUP_TIMEOUT_MS = 60_000;

interface Entry {
  at: number;
  instance: NodeInstance;
}

/** What identifies a node's instance: its providerID when it has one, else its InternalIP. */
const keyOf = (n: BackendNode) => `${n.name}\0${n.providerID ?? ''}\0${n.internalIP ?? ''}`;

export class InstanceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<NodeInstance | null>>();
  /** Why each node of the last lookup that found no running instance was left out (node name -> reason). */
  private readonly reasons = new Map<string, string>();

  private readonly clients: Sender;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(clients: Sender, ttlMs = INSTANCE_TTL_MS, now: () => number = Date.now) {
    this.clients = clients;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** The running instances behind `nodes`, sorted by instance id (as resolveInstances returns them). */
  async resolve(nodes: readonly BackendNode[], signal: AbortSignal): Promise<NodeInstance[]> {
    const now = this.now();
    const found: NodeInstance[] = [];
    const waits: Promise<NodeInstance | null>[] = [];
    const missing: BackendNode[] = [];
    for (const node of nodes) {
      const key = keyOf(node);
      const entry = this.entries.get(key);
      if (entry && now - entry.at < this.ttlMs) found.push(entry.instance);
      else if (this.inFlight.has(key)) waits.push(this.inFlight.get(key)!);
      else missing.push(node);
    }
    if (missing.length > 0) waits.push(...this.lookUp(missing));
    for (const instance of await untilAborted(Promise.all(waits), signal)) if (instance) found.push(instance);
    return found.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }

  /** Why `node` has no running instance, as its last lookup found; undefined when it had one. */
  reasonFor(node: string): string | undefined {
    return this.reasons.get(node);
  }

  /**
   * One DescribeInstances round for `nodes`; each node's promise is shared with concurrent callers, so the round
   * runs under its own deadline rather than the signal of whichever caller started it.
   */
  private lookUp(nodes: readonly BackendNode[]): Promise<NodeInstance | null>[] {
    const skipped = new Map<string, string>();
    const timeout = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
    const round = resolveInstances(this.clients, nodes, timeout, skipped).then((instances) => {
      const at = this.now();
      const byNode = new Map(instances.map((i) => [i.node, i]));
      for (const node of nodes) {
        const instance = byNode.get(node.name);
        if (instance) {
          this.entries.set(keyOf(node), { at, instance });
          this.reasons.delete(node.name);
        } else this.reasons.set(node.name, skipped.get(node.name) ?? 'no running instance found');
      }
      return byNode;
    });
    return nodes.map((node) => {
      const key = keyOf(node);
      const one = round
        .then((byNode) => byNode.get(node.name) ?? null)
        .finally(() => {
          if (this.inFlight.get(key) === one) this.inFlight.delete(key);
        });
      this.inFlight.set(key, one);
      return one;
    });
  }
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts (the work itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
