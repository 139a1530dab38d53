// The gcp provider: cloud-provider-gcp's legacy target-pool network load balancer (reference section 2), rebuilt
// as observe -> plan -> apply. ensure() reads what exists (observe.ts), builds the list of steps that would
// converge it to what the spec asks for (desired.ts, plan.ts; plan() returns their actions), and runs them in
// upstream's safe order (apply.ts). A converged load balancer costs reads only. Deletion is teardown.ts.
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type EnsureResult,
  type LoadBalancerIdentity,
  type LoadBalancerSpec,
  type LogPort,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  type ServiceCheck,
  TerminalError,
} from '../../src/contract/provider.ts';
import { checkGcpService, type GcpOptions } from './annotations.ts';
import { apply } from './apply.ts';
import { type DesiredLoadBalancer, desiredFor, unsupported } from './desired.ts';
import type { Call, Gce } from './gce.ts';
import { updateHosts } from './hosts.ts';
import type { GcpConfig } from './index.ts';
import { PRIORITY } from './limits.ts';
import { namesFor } from './names.ts';
import { observe, TargetInstances } from './observe.ts';
import { type AddressState, planSteps, type Step } from './plan.ts';
import { SharedCheckLock } from './shared-lock.ts';
import { deleteLoadBalancer, listOwned } from './teardown.ts';

export type { GcpOptions };

type Spec = Readonly<LoadBalancerSpec<GcpOptions>>;

export class GcpProvider implements Provider<GcpOptions> {
  readonly name = 'gcp';
  private readonly gce: Gce;
  private readonly config: GcpConfig;
  private readonly log: LogPort;
  private readonly targets: TargetInstances;
  /** Users of the cluster's node health check against its deletion (see shared-lock.ts). */
  readonly sharedCheck = new SharedCheckLock();

  constructor(context: ProviderContext, config: GcpConfig, gce: Gce) {
    this.gce = gce;
    this.config = config;
    this.log = context.log.child({ provider: 'gcp' });
    this.targets = new TargetInstances(gce, config.zones, this.log);
  }

  checkService(service: Readonly<V1Service>): ServiceCheck<GcpOptions> {
    return checkGcpService(service);
  }

  async stop(): Promise<void> {
    await this.gce.close();
  }

  async ensure(spec: Spec, { signal }: CallOptions): Promise<EnsureResult> {
    const why = unsupported(spec);
    if (why) throw new TerminalError('UnsupportedService', why);
    const desired = desiredFor(spec);
    // A user of the shared node check holds the lock shared from observing it to its pool referencing it.
    if (desired.healthCheck.shared) return this.sharedCheck.shared(signal, () => this.converge(spec, desired, signal));
    return this.converge(spec, desired, signal);
  }

  private async converge(spec: Spec, desired: DesiredLoadBalancer, signal: AbortSignal): Promise<EnsureResult> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const { steps, state } = await this.diff(spec, desired, call, true);
    return apply(steps, state, spec.identity, this.log);
  }

  async plan(spec: Spec, { signal }: CallOptions): Promise<PlannedAction[]> {
    const why = unsupported(spec);
    if (why) throw new TerminalError('UnsupportedService', why);
    const call: Call = { signal, priority: PRIORITY.resync };
    const { steps } = await this.diff(spec, desiredFor(spec), call, false);
    return steps.map((s) => s.action);
  }

  /** Observes and plans; a load balancer that does not exist yet is a first-time creation (higher priority). */
  private async diff(
    spec: Spec,
    desired: DesiredLoadBalancer,
    call: Call,
    creating: boolean,
  ): Promise<{ steps: Step[]; state: AddressState }> {
    const observed = await observe(this.gce, desired, call);
    if (creating && !observed.rule) call.priority = PRIORITY.create;
    const state: AddressState = { ip: (observed.rule?.IPAddress as string | undefined) ?? null };
    const instances = await this.targets.resolve(spec, call);
    const scope = { project: this.gce.project, network: this.config.network, nodeTags: this.config.nodeTags };
    const context = { gce: this.gce, scope, lock: this.sharedCheck, call };
    return { steps: await planSteps(context, spec, desired, observed, instances, state), state };
  }

  updateHosts(spec: Spec, { signal }: CallOptions): Promise<ChangeResult> {
    return updateHosts(this.gce, this.targets, spec, { signal, priority: PRIORITY.resync });
  }

  async get(identity: Readonly<LoadBalancerIdentity>, { signal }: CallOptions): Promise<ObservedLoadBalancer | null> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const { lb } = namesFor(identity);
    const [rule, pool] = await Promise.all([this.gce.getRule(lb, call), this.gce.getPool(lb, call)]);
    if (!rule && !pool) return null;
    return {
      identity: { ...identity },
      status: { ingress: rule?.IPAddress ? [{ ip: rule.IPAddress, ipMode: 'VIP' }] : [] },
      backends: (pool?.instances ?? []).map((url) => url.split('/').at(-1)!),
    };
  }

  async ensureDeleted(identity: Readonly<LoadBalancerIdentity>, { signal }: CallOptions): Promise<ChangeResult> {
    const call: Call = { signal, priority: PRIORITY.delete };
    return { changed: await deleteLoadBalancer(this.gce, this.sharedCheck, identity, call) };
  }

  listOwned({ signal }: CallOptions): Promise<LoadBalancerIdentity[]> {
    return listOwned(this.gce, this.config.clusterName, { signal, priority: PRIORITY.resync });
  }
}
