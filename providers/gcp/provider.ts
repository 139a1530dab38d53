// The gcp provider: cloud-provider-gcp's legacy target-pool network load balancer (reference section 2), rebuilt
// as observe -> diff -> apply. ensure() reads what exists (steps.ts observe), builds the list of steps that would
// converge it (steps.ts planSteps; plan() returns their descriptions), and runs them in upstream's safe order.
// A converged load balancer costs reads only. Deletion is teardown.ts.
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type EnsureResult,
  type LoadBalancerIdentity,
  LoadBalancerNotFoundError,
  type LoadBalancerSpec,
  type LogPort,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  RetryableError,
  type ServiceCheck,
  TerminalError,
} from '../../src/contract/provider.ts';
import { type DesiredLoadBalancer, desiredFor, instanceFromProviderId, unsupported } from './desired.ts';
import type { Call, Gce } from './gce.ts';
import type { GcpConfig } from './index.ts';
import { PRIORITY } from './limits.ts';
import { namesFor, ownerOf } from './names.ts';
import { URL_BASE } from './resources.ts';
import { checkGcpService, type GcpOptions } from './service-check.ts';
import { SharedCheckLock } from './shared-lock.ts';
import { type AddressState, membershipSteps, observe, planSteps, type Step } from './steps.ts';
import { deleteLoadBalancer } from './teardown.ts';

export type { GcpOptions };

export class GcpProvider implements Provider<GcpOptions> {
  readonly name = 'gcp';
  private readonly gce: Gce;
  private readonly config: GcpConfig;
  private readonly log: LogPort;
  /** Node name -> instance path, for nodes without a gce:// providerID (instances never change zone). */
  private readonly instanceCache = new Map<string, string>();
  /** Users of the cluster's node health check against its deletion (see shared-lock.ts). */
  readonly sharedCheck = new SharedCheckLock();

  constructor(context: ProviderContext, config: GcpConfig, gce: Gce) {
    this.gce = gce;
    this.config = config;
    this.log = context.log.child({ provider: 'gcp' });
  }

  checkService(service: Readonly<V1Service>): ServiceCheck<GcpOptions> {
    return checkGcpService(service);
  }

  async stop(): Promise<void> {
    await this.gce.close();
  }

  async ensure(spec: Readonly<LoadBalancerSpec<GcpOptions>>, { signal }: CallOptions): Promise<EnsureResult> {
    const why = unsupported(spec);
    if (why) throw new TerminalError('UnsupportedService', why);
    const desired = desiredFor(spec);
    // A user of the shared node check holds the lock shared from observing it to its pool referencing it.
    if (desired.healthCheck.shared) return this.sharedCheck.shared(signal, () => this.converge(spec, desired, signal));
    return this.converge(spec, desired, signal);
  }

  private async converge(
    spec: Readonly<LoadBalancerSpec<GcpOptions>>,
    desired: DesiredLoadBalancer,
    signal: AbortSignal,
  ): Promise<EnsureResult> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const { steps, state } = await this.diff(spec, desired, call, true);
    for (const step of steps) {
      this.log.debug({ ...step.action, service: `${spec.identity.namespace}/${spec.identity.name}` }, 'gce step');
      await step.run();
    }
    if (!state.ip) throw new RetryableError('NoAddressYet', 'the forwarding rule has no IP address yet');
    return { status: { ingress: [{ ip: state.ip, ipMode: 'VIP' }] }, changed: steps.length > 0 };
  }

  async plan(spec: Readonly<LoadBalancerSpec<GcpOptions>>, { signal }: CallOptions): Promise<PlannedAction[]> {
    const why = unsupported(spec);
    if (why) throw new TerminalError('UnsupportedService', why);
    const call: Call = { signal, priority: PRIORITY.resync };
    const { steps } = await this.diff(spec, desiredFor(spec), call, false);
    return steps.map((s) => s.action);
  }

  /** Observes and plans; a load balancer that does not exist yet is a first-time creation (higher priority). */
  private async diff(
    spec: Readonly<LoadBalancerSpec<GcpOptions>>,
    desired: DesiredLoadBalancer,
    call: Call,
    creating: boolean,
  ): Promise<{ steps: Step[]; state: AddressState }> {
    const observed = await observe(this.gce, desired, call);
    if (creating && !observed.rule) call.priority = PRIORITY.create;
    const state: AddressState = { ip: (observed.rule?.IPAddress as string | undefined) ?? null };
    const instances = await this.instancesFor(spec, call);
    const scope = { project: this.gce.project, network: this.config.network, nodeTags: this.config.nodeTags };
    const context = { gce: this.gce, scope, lock: this.sharedCheck, call };
    return { steps: await planSteps(context, spec, desired, observed, instances, state), state };
  }

  async updateHosts(spec: Readonly<LoadBalancerSpec<GcpOptions>>, { signal }: CallOptions): Promise<ChangeResult> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const { lb } = namesFor(spec.identity);
    const pool = await this.gce.getPool(lb, call);
    if (!pool) throw new LoadBalancerNotFoundError(`no target pool ${lb} to update`);
    const steps = membershipSteps(this.gce, lb, pool, await this.instancesFor(spec, call), call);
    for (const step of steps) await step.run();
    return { changed: steps.length > 0 };
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

  async listOwned({ signal }: CallOptions): Promise<LoadBalancerIdentity[]> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const lists = await Promise.all([
      this.gce.listRules(call),
      this.gce.listPools(call),
      this.gce.listAddresses(call),
      this.gce.listFirewalls(call),
      this.gce.listHealthChecks(call), // a Local Service's own check, left by an interrupted delete
    ]);
    const owned = new Map<string, LoadBalancerIdentity>();
    for (const resource of lists.flat()) {
      const owner = ownerOf(resource.description, this.config.clusterName);
      if (owner) owned.set(owner.uid, owner);
    }
    return [...owned.values()];
  }

  /** Instance URLs of the spec's nodes: from gce:// providerIDs, else looked up by node name in `zones`. */
  private async instancesFor(spec: Readonly<LoadBalancerSpec>, call: Call): Promise<string[]> {
    const paths: string[] = [];
    for (const node of spec.nodes) {
      const fromId = instanceFromProviderId(node.providerID);
      let path = fromId?.path ?? this.instanceCache.get(node.name);
      if (!path && !fromId) {
        for (const zone of this.config.zones) {
          const instance = await this.gce.getInstance(zone, node.name, call);
          if (instance) {
            path = `projects/${this.gce.project}/zones/${zone}/instances/${node.name}`;
            this.instanceCache.set(node.name, path);
            break;
          }
        }
      }
      if (path) paths.push(`${URL_BASE}${path}`);
      else this.log.warn({ node: node.name }, 'node has no GCE instance (no gce:// providerID, not found in zones)');
    }
    return [...new Set(paths)].sort();
  }
}
