// The fake provider: load balancers as records in memory. It behaves like a cloud adapter from the core's point
// of view (latency, typed failures, idempotence, backends, orphans) so the core, the conformance suite and the
// benchmarks can exercise every path without a cloud. Tests reach the instance to inject faults and read the log.
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type CounterPort,
  type EnsureResult,
  identityKey,
  type LoadBalancerIdentity,
  LoadBalancerNotFoundError,
  type LoadBalancerSpec,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  ProviderError,
  type ServiceCheck,
  TerminalError,
} from '../../src/contract/provider.ts';
import { AddressBook } from './addresses.ts';
import { backendsOf, desiredFor, type FakeLoadBalancer } from './desired.ts';
import { errorFor, FaultInjector, sleep } from './faults.ts';
import type { FakeConfig, Fault, Operation } from './index.ts';
import { planChanges } from './plan.ts';
import { seeded } from './random.ts';

export type { FakeLoadBalancer };

/** The fake reads no annotations of its own. */
export type FakeOptions = Record<string, never>;

export interface CallRecord {
  operation: Operation;
  /** `namespace/name`, or '' for calls about no single Service. */
  key: string;
  /** 'ok', the typed error's reason, or 'aborted'. */
  result: string;
  changed: boolean;
}

export class FakeProvider implements Provider<FakeOptions> {
  readonly name = 'fake';
  /** Every call, in order. */
  readonly calls: CallRecord[] = [];
  private readonly balancers = new Map<string, FakeLoadBalancer>();
  private readonly config: FakeConfig;
  private readonly addresses: AddressBook;
  private readonly faults: FaultInjector;
  private readonly callCounter: CounterPort<'operation' | 'result'>;

  constructor(context: ProviderContext, config: FakeConfig) {
    this.config = config;
    this.addresses = new AddressBook(config.addressRange);
    this.faults = new FaultInjector(config.faults, seeded(config.seed));
    this.callCounter = context.metrics.counter({
      name: 'calls_total',
      help: 'Calls the fake provider answered, by operation and result.',
      labelNames: ['operation', 'result'],
    });
  }

  // ---- for tests ----

  /** Adds a fault; it applies to calls from now on. */
  inject(fault: Partial<Fault> & Pick<Fault, 'operation' | 'kind'>): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Everything the fake holds right now. */
  loadBalancers(): FakeLoadBalancer[] {
    return [...this.balancers.values()].map((lb) => structuredClone(lb));
  }

  /** Calls of one operation (for one Service), for counting what the core asked for. */
  count(operation: Operation, key?: string): number {
    return this.calls.filter((c) => c.operation === operation && (key === undefined || c.key === key)).length;
  }

  /** A stand-in for a cloud resource deleted behind our back (drift). */
  forget(identity: Pick<LoadBalancerIdentity, 'namespace' | 'name'>): void {
    const lb = this.balancers.get(identityKey(identity));
    if (lb) this.addresses.release(lb.addresses);
    this.balancers.delete(identityKey(identity));
  }

  // ---- the contract ----

  checkService(_service: Readonly<V1Service>): ServiceCheck<FakeOptions> {
    return { options: {}, problems: [] };
  }

  async start(options: CallOptions): Promise<void> {
    await this.call('start', '', options, async () => false);
  }

  async ensure(spec: Readonly<LoadBalancerSpec<FakeOptions>>, options: CallOptions): Promise<EnsureResult> {
    const key = identityKey(spec.identity);
    let addresses: string[] = [];
    const changed = await this.call('ensure', key, options, async () => {
      const before = this.balancers.get(key);
      addresses = this.addressesFor(key, spec, before);
      const next = desiredFor(spec, addresses);
      this.balancers.set(key, next);
      return !before || JSON.stringify(before) !== JSON.stringify(next);
    });
    const ingress = addresses.map((ip) =>
      this.config.hostnames
        ? { hostname: `${ip.replaceAll(/[.:]/g, '-')}.fake.invalid` }
        : { ip, ipMode: 'VIP' as const },
    );
    return { status: { ingress }, changed };
  }

  async updateHosts(spec: Readonly<LoadBalancerSpec<FakeOptions>>, options: CallOptions): Promise<ChangeResult> {
    const key = identityKey(spec.identity);
    const changed = await this.call('updateHosts', key, options, async () => {
      const lb = this.balancers.get(key);
      if (!lb) throw new LoadBalancerNotFoundError(`no load balancer for ${key} to update`);
      const backends = backendsOf(spec);
      if (JSON.stringify(lb.backends) === JSON.stringify(backends)) return false;
      lb.backends = backends;
      return true;
    });
    return { changed };
  }

  async ensureDeleted(identity: Readonly<LoadBalancerIdentity>, options: CallOptions): Promise<ChangeResult> {
    const key = identityKey(identity);
    const changed = await this.call('ensureDeleted', key, options, async () => {
      const lb = this.balancers.get(key);
      if (!lb) return false;
      this.addresses.release(lb.addresses);
      this.balancers.delete(key);
      return true;
    });
    return { changed };
  }

  async get(identity: Readonly<LoadBalancerIdentity>, options: CallOptions): Promise<ObservedLoadBalancer | null> {
    const key = identityKey(identity);
    await this.call('get', key, options, async () => false);
    const lb = this.balancers.get(key);
    if (!lb) return null;
    return {
      identity: { ...lb.identity },
      status: { ingress: lb.addresses.map((ip) => ({ ip, ipMode: 'VIP' as const })) },
      backends: [...lb.backends],
    };
  }

  async plan(spec: Readonly<LoadBalancerSpec<FakeOptions>>, options: CallOptions): Promise<PlannedAction[]> {
    const key = identityKey(spec.identity);
    await this.call('plan', key, options, async () => false);
    const before = this.balancers.get(key);
    if (!before) return [{ action: 'create', resource: 'load balancer', name: key }];
    return planChanges(key, before, desiredFor(spec, before.addresses));
  }

  async listOwned(options: CallOptions): Promise<LoadBalancerIdentity[]> {
    await this.call('listOwned', '', options, async () => false);
    return [...this.balancers.values()].map((lb) => ({ ...lb.identity }));
  }

  // ---- internals ----

  /** Latency, then a fault if one applies, then the work; every call is logged and counted. */
  private async call(operation: Operation, key: string, { signal }: CallOptions, work: () => Promise<boolean>) {
    let result = 'ok';
    let changed = false;
    try {
      if (this.config.latencyMs > 0) await sleep(this.config.latencyMs, signal);
      const fault = this.faults.pick(operation);
      if (fault?.kind === 'hang') await sleep(Number.POSITIVE_INFINITY, signal);
      if (fault) throw errorFor(fault, operation);
      signal.throwIfAborted();
      changed = await work();
      return changed;
    } catch (error) {
      result = error instanceof ProviderError ? error.reason : signal.aborted ? 'aborted' : 'error';
      throw error;
    } finally {
      this.calls.push({ operation, key, result, changed });
      this.callCounter.inc({ operation, result });
    }
  }

  /** Keeps the addresses it holds; takes a requested one if free; else the next free one of the range. */
  private addressesFor(key: string, spec: Readonly<LoadBalancerSpec>, before: FakeLoadBalancer | undefined) {
    const requested = spec.requestedAddresses.find((ip) => !ip.includes(':'));
    const held = before?.addresses[0];
    if (requested && requested !== held) {
      if (!this.addresses.take(requested, key)) {
        throw new TerminalError('AddressInUse', `${requested} is held by ${this.addresses.holder(requested)}`);
      }
      if (held) this.addresses.release([held]);
      return [requested];
    }
    if (held) return [held];
    return [this.addresses.next(key)];
  }
}
