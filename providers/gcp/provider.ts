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
import type { Call } from './gce.ts';
import type { GceBackends } from './gce-backends.ts';
import { updateHosts } from './hosts.ts';
import type { GcpConfig } from './index.ts';
import { l4DesiredFor, l4Unsupported } from './l4-desired.ts';
import { observeL4, zoneOf } from './l4-observe.ts';
import { type L4State, planL4 } from './l4-plan.ts';
import { deleteL4, type L4Context, listOwnedL4 } from './l4-teardown.ts';
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
  private readonly gce: GceBackends;
  private readonly config: GcpConfig;
  private readonly log: LogPort;
  private readonly targets: TargetInstances;
  /** Users of the cluster's node health check against its deletion (see shared-lock.ts). */
  readonly sharedCheck = new SharedCheckLock();
  /** Users of the backend-service load balancers' shared node check and instance groups against their deletion. */
  readonly l4Shared = new SharedCheckLock();
  /** Zones where this process has seen nodes (the instance groups' zones), with the configured ones. */
  private readonly zones = new Set<string>();

  constructor(context: ProviderContext, config: GcpConfig, gce: GceBackends) {
    this.gce = gce;
    this.config = config;
    for (const zone of config.zones) this.zones.add(zone);
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
    if (spec.providerOptions.backendService) {
      const why = l4Unsupported(spec);
      if (why) throw new TerminalError('UnsupportedService', why);
      return this.l4Shared.shared(signal, async () => {
        const { steps, state } = await this.diffL4(spec, { signal, priority: PRIORITY.resync }, true);
        const result = await apply(steps, state, spec.identity, this.log);
        if (state.ipv6) result.status.ingress.push({ ip: state.ipv6.split('/')[0]!, ipMode: 'VIP' });
        return result;
      });
    }
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
    if (spec.providerOptions.backendService) {
      const why = l4Unsupported(spec);
      if (why) throw new TerminalError('UnsupportedService', why);
      const { steps } = await this.diffL4(spec, { signal, priority: PRIORITY.resync }, false);
      return steps.map((s) => s.action);
    }
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
    let observed = await observe(this.gce, desired, call);
    if (creating && !observed.rule) call.priority = PRIORITY.create;
    const state: AddressState = { ip: (observed.rule?.IPAddress as string | undefined) ?? null };
    const instances = await this.targets.resolve(spec, call);
    const scope = this.scope();
    const context = { gce: this.gce, scope, lock: this.sharedCheck, call };
    const switched: Step[] = [];
    if (observed.rule?.backendService) {
      // It was a backend-service load balancer until now: that goes first (its address with it).
      const l4 = this.l4Context(call);
      switched.push({
        action: { action: 'delete', resource: 'backendService', name: desired.names.lb, detail: 'switch' },
        run: async () => void (await deleteL4(l4, spec.identity)),
      });
      observed = { ...observed, rule: null, trafficFirewall: null, address: null };
      state.ip = null;
    }
    return { steps: [...switched, ...(await planSteps(context, spec, desired, observed, instances, state))], state };
  }

  private async diffL4(spec: Spec, call: Call, creating: boolean): Promise<{ steps: Step[]; state: L4State }> {
    const desired = l4DesiredFor(spec, this.config.subnetwork);
    const instances = await this.targets.resolve(spec, call);
    for (const i of instances) this.zones.add(zoneOf(i));
    const observed = await observeL4(this.gce, desired, instances, call);
    if (creating && !observed.backendService) call.priority = PRIORITY.create;
    const l4Rule = observed.rule?.backendService ? observed.rule : null;
    const state: L4State = { ip: l4Rule?.IPAddress ?? null, ipv6: observed.ipv6Rule?.IPAddress ?? null };
    if (!desired.ipv4) state.ip = state.ipv6;
    return { steps: planL4(this.l4Context(call), spec, desired, observed, instances, state), state };
  }

  private scope() {
    return { project: this.gce.project, network: this.config.network, nodeTags: this.config.nodeTags };
  }

  private l4Context(call: Call): L4Context {
    return {
      gce: this.gce,
      scope: this.scope(),
      networkUrl: `https://www.googleapis.com/compute/v1/projects/${this.gce.project}/global/networks/${this.config.network}`,
      poolLock: this.sharedCheck,
      l4Lock: this.l4Shared,
      zones: () => [...this.zones],
      call,
    };
  }

  async updateHosts(spec: Spec, { signal }: CallOptions): Promise<ChangeResult> {
    if (spec.providerOptions.backendService) {
      // Membership is the instance groups' (and, when a zone gains or loses its nodes, the backend service's list
      // of groups): the same plan, run for those steps only.
      const call: Call = { signal, priority: PRIORITY.resync };
      return this.l4Shared.shared(signal, async () => {
        const { steps } = await this.diffL4(spec, call, false);
        const groups = steps.filter(
          (s) =>
            s.action.resource === 'instanceGroup' ||
            (s.action.resource === 'backendService' && s.action.action === 'update'),
        );
        for (const step of groups) await step.run();
        return { changed: groups.length > 0 };
      });
    }
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
    return {
      changed: await deleteLoadBalancer(this.gce, this.sharedCheck, identity, call, () =>
        deleteL4(this.l4Context(call), identity),
      ),
    };
  }

  async listOwned({ signal }: CallOptions): Promise<LoadBalancerIdentity[]> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const lists = await Promise.all([
      listOwned(this.gce, this.config.clusterName, call),
      listOwnedL4(this.gce, this.config.clusterName, call),
    ]);
    return [...new Map(lists.flat().map((i) => [i.uid, i])).values()];
  }
}
