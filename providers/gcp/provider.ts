// The gcp provider: cloud-provider-gcp's legacy target-pool network load balancer (reference section 2), rebuilt
// as observe -> diff -> apply. ensure() reads what exists, builds the list of steps that would converge it (plan()
// returns their descriptions), and runs them in upstream's safe order. A converged load balancer costs reads only.
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
  ProviderError,
  RetryableError,
  type ServiceCheck,
  TerminalError,
} from '../provider.ts';
import {
  chunks,
  type DesiredLoadBalancer,
  desiredFor,
  HEALTH_CHECK_RANGES,
  HEALTH_CHECK_TIMINGS,
  instanceFromProviderId,
  instanceKey,
  unsupported,
} from './desired.ts';
import type { Address, Call, Firewall, ForwardingRule, Gce, HttpHealthCheck, TargetPool } from './gce.ts';
import type { GcpConfig } from './index.ts';
import { PRIORITY } from './limits.ts';
import { clusterDescription, type LoadBalancerNames, namesFor, ownerDescription, ownerOf } from './names.ts';
import { SharedCheckLock } from './shared-lock.ts';

/** GKE's annotation for the forwarding rule's (and a reserved address's) network tier: Standard or Premium. */
export const NETWORK_TIER_ANNOTATION = 'cloud.google.com/network-tier';

/** What checkService reads from a Service's annotations. */
export interface GcpOptions {
  /** Absent: PREMIUM, GCE's and GKE's default. */
  networkTier?: 'PREMIUM' | 'STANDARD';
}

const URL_BASE = 'https://www.googleapis.com/compute/v1/';
/** Upstream's batch sizes (reference 2.3): instances in a pool insert, and per add/removeInstance call. */
const MAX_CREATE_INSTANCES = 200;
const MAX_UPDATE_INSTANCES = 1000;

interface Step {
  action: PlannedAction;
  run(): Promise<void>;
}

/** What exists for one load balancer. */
interface Observed {
  rule: ForwardingRule | null;
  pool: TargetPool | null;
  address: Address | null;
  healthCheck: HttpHealthCheck | null;
  healthCheckFirewall: Firewall | null;
  trafficFirewall: Firewall | null;
}

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
    const protocols = new Set((service.spec?.ports ?? []).map((p) => p.protocol ?? 'TCP'));
    const problems = [];
    if (protocols.size > 1) {
      problems.push({
        path: 'spec.ports',
        reason: 'MixedProtocolNotSupported',
        message: 'the gcp provider builds one target-pool forwarding rule per Service: use TCP or UDP ports, not both',
      });
    } else if (protocols.has('SCTP')) {
      problems.push({ path: 'spec.ports', reason: 'ProtocolNotSupported', message: 'target pools forward TCP or UDP' });
    }
    const options: GcpOptions = {};
    const tier = service.metadata?.annotations?.[NETWORK_TIER_ANNOTATION];
    if (tier !== undefined) {
      // GKE's values, exactly (cloud-provider-gcp's GetServiceNetworkTier is case-sensitive too).
      if (tier === 'Standard' || tier === 'Premium') options.networkTier = tier === 'Standard' ? 'STANDARD' : 'PREMIUM';
      else {
        problems.push({
          path: `metadata.annotations['${NETWORK_TIER_ANNOTATION}']`,
          reason: 'InvalidNetworkTier',
          message: `${NETWORK_TIER_ANNOTATION}: "${tier}" is not a network tier: use Standard or Premium`,
        });
      }
    }
    return { options, problems };
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
    const observed = await this.observe(desired, call);
    if (!observed.rule) call.priority = PRIORITY.create;
    const state = { ip: (observed.rule?.IPAddress as string | undefined) ?? null };
    const steps = await this.steps(spec, desired, observed, state, call);
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
    const desired = desiredFor(spec);
    const observed = await this.observe(desired, call);
    const state = { ip: (observed.rule?.IPAddress as string | undefined) ?? null };
    return (await this.steps(spec, desired, observed, state, call)).map((s) => s.action);
  }

  async updateHosts(spec: Readonly<LoadBalancerSpec<GcpOptions>>, { signal }: CallOptions): Promise<ChangeResult> {
    const call: Call = { signal, priority: PRIORITY.resync };
    const { lb } = namesFor(spec.identity);
    const pool = await this.gce.getPool(lb, call);
    if (!pool) throw new RetryableError('LoadBalancerNotFound', `no target pool ${lb} to update`);
    const steps = this.membershipSteps(lb, pool, await this.instancesFor(spec, call), call);
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
    const names = namesFor(identity);
    const [rule, pool, address, localHc, localHcFirewall, trafficFirewall] = await Promise.all([
      this.gce.getRule(names.lb, call),
      this.gce.getPool(names.lb, call),
      this.gce.getAddress(names.lb, call),
      this.gce.getHealthCheck(names.localHealthCheck, call),
      this.gce.getFirewall(names.localHealthCheckFirewall, call),
      this.gce.getFirewall(names.trafficFirewall, call),
    ]);
    let changed = false;
    const del = async (exists: unknown, fn: () => Promise<void>) => {
      if (!exists) return;
      await fn();
      changed = true;
    };
    // Reference 2.6: the rule before the pool it targets, the pool before the health check it uses.
    await del(rule, () => this.gce.deleteRule(names.lb, call));
    await del(pool, () => this.gce.deletePool(names.lb, call));
    await del(localHc, () => this.gce.deleteHealthCheck(names.localHealthCheck, call));
    await del(localHcFirewall, () => this.gce.deleteFirewall(names.localHealthCheckFirewall, call));
    // Whatever the pool was (a retried delete finds it gone, a Local Service never used it): the cluster's node
    // check goes with the last pool that uses it.
    if (await this.deleteSharedHealthCheckIfUnused(names, call)) changed = true;
    await del(trafficFirewall, () => this.gce.deleteFirewall(names.trafficFirewall, call));
    // Only our own reservation: a user's address named in loadBalancerIP is never ours to release.
    await del(address && ownerOf(address.description, identity.clusterName)?.uid === identity.uid, () =>
      this.gce.deleteAddress(names.lb, call),
    );
    return { changed };
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

  // ---- observe and diff ----

  private async observe(desired: DesiredLoadBalancer, call: Call): Promise<Observed> {
    const { names, healthCheck } = desired;
    const [rule, pool, address, hc, hcFirewall, trafficFirewall] = await Promise.all([
      this.gce.getRule(names.lb, call),
      this.gce.getPool(names.lb, call),
      this.gce.getAddress(names.lb, call),
      this.gce.getHealthCheck(healthCheck.name, call),
      this.gce.getFirewall(healthCheck.firewall, call),
      this.gce.getFirewall(names.trafficFirewall, call),
    ]);
    return { rule, pool, address, healthCheck: hc, healthCheckFirewall: hcFirewall, trafficFirewall };
  }

  /** Every change that converges `observed` to `desired`, in the order it must run (reference 2.4). */
  private async steps(
    spec: Readonly<LoadBalancerSpec>,
    desired: DesiredLoadBalancer,
    observed: Observed,
    state: { ip: string | null },
    call: Call,
  ): Promise<Step[]> {
    const { names } = desired;
    const { project } = this.gce;
    const region = this.gce.region;
    const owner = ownerDescription(spec.identity);
    const hcLink = `${URL_BASE}projects/${project}/global/httpHealthChecks/${desired.healthCheck.name}`;
    const poolLink = `${URL_BASE}projects/${project}/regions/${region}/targetPools/${names.lb}`;
    const steps: Step[] = [];
    const step = (action: PlannedAction['action'], resource: string, name: string, run: () => Promise<void>) =>
      steps.push({ action: { action, resource, name }, run });

    // 1. The static address, only when one is requested: ours (named like the LB) or the user's own reservation.
    let ruleIp: string | null = null;
    let releaseOurs = observed.address !== null && !desired.staticIp;
    // Our reservation while no static address is wanted and no rule exists: a recreation interrupted half-way.
    // Its IP is the Service's, so the rule created now takes it (released after, like any recreation).
    // (Only in the wanted tier: a tier change gives the rule a new IP, an address cannot change tier.)
    const tier = desired.networkTier;
    if (!desired.staticIp && !observed.rule && observed.address?.address && tierOf(observed.address) === tier) {
      ruleIp = observed.address.address;
    }
    if (desired.staticIp) {
      ruleIp = desired.staticIp;
      const ours = observed.address;
      if (ours?.address === desired.staticIp && tierOf(ours) !== tier) {
        throw wrongTier(desired.staticIp, tierOf(ours), tier);
      }
      if (ours?.address !== desired.staticIp) {
        const users = (await this.gce.listAddresses(call)).filter((a) => a.address === desired.staticIp);
        const usersOwn = users.find((a) => a.name !== names.lb);
        // Checked before anything is deleted: the rule must not go for an address it could not use.
        if (usersOwn && tierOf(usersOwn) !== tier) throw wrongTier(desired.staticIp, tierOf(usersOwn), tier);
        if (ours) step('delete', 'address', names.lb, () => this.gce.deleteAddress(names.lb, call));
        if (!usersOwn) {
          step('create', 'address', names.lb, () =>
            this.gce.insertAddress(
              { name: names.lb, address: desired.staticIp, description: owner, networkTier: tier },
              call,
            ),
          );
        }
      }
    }

    // 2. What GCE cannot update in place: a rule with another protocol, range, IP or target; a pool with another
    // affinity or health check. The rule goes first: a pool a rule targets cannot be deleted.
    const rule = observed.rule;
    const pool = observed.pool;
    const ruleStale =
      rule !== null &&
      (rule.IPProtocol !== desired.protocol ||
        rule.portRange !== desired.portRange ||
        tierOf(rule) !== tier ||
        (ruleIp !== null && rule.IPAddress !== ruleIp) ||
        instanceKey(rule.target ?? '') !== instanceKey(poolLink));
    const poolStale =
      pool !== null &&
      ((pool.sessionAffinity ?? 'NONE') !== desired.sessionAffinity ||
        (pool.healthChecks ?? []).map(instanceKey).join() !== instanceKey(hcLink));
    const recreateRule = rule !== null && (ruleStale || poolStale);
    if (recreateRule) {
      if (ruleIp === null && rule.IPAddress && tierOf(rule) === tier) {
        // Keep the ephemeral IP across the recreation: reserve it (GCE promotes it), release it afterwards.
        ruleIp = rule.IPAddress;
        releaseOurs = true;
        // A retry after a failure may find the reservation already made (409 otherwise).
        if (observed.address?.address !== rule.IPAddress) {
          if (observed.address) step('delete', 'address', names.lb, () => this.gce.deleteAddress(names.lb, call));
          step('create', 'address', names.lb, () =>
            this.gce.insertAddress({ name: names.lb, address: ruleIp, description: owner, networkTier: tier }, call),
          );
        }
      }
      step('delete', 'forwardingRule', names.lb, () => this.gce.deleteRule(names.lb, call));
    }

    // 3. The health check and the firewall that lets Google's checkers reach it.
    const hc: HttpHealthCheck = {
      name: desired.healthCheck.name,
      description: desired.healthCheck.shared ? clusterDescription(spec.identity.clusterName) : owner,
      port: desired.healthCheck.port,
      requestPath: desired.healthCheck.path,
      ...HEALTH_CHECK_TIMINGS,
    };
    const shared = desired.healthCheck.shared;
    if (!observed.healthCheck) {
      step('create', 'httpHealthCheck', hc.name, () => this.tolerateRace(shared, this.gce.insertHealthCheck(hc, call)));
    } else if (healthCheckDiffers(observed.healthCheck, hc)) {
      step('update', 'httpHealthCheck', hc.name, () => this.gce.updateHealthCheck(hc, call));
    }
    const hcFirewall = this.firewall(desired.healthCheck.firewall, hc.description!, HEALTH_CHECK_RANGES, [], 'tcp', [
      String(desired.healthCheck.port),
    ]);
    this.firewallStep(step, observed.healthCheckFirewall, hcFirewall, call, shared);

    // 4. The target pool and its members.
    const instances = await this.instancesFor(spec, call);
    if (!pool || poolStale) {
      if (poolStale) step('delete', 'targetPool', names.lb, () => this.gce.deletePool(names.lb, call));
      const [first = [], ...rest] = chunks(instances, MAX_CREATE_INSTANCES);
      step('create', 'targetPool', names.lb, async () => {
        const resource: TargetPool = {
          name: names.lb,
          description: owner,
          sessionAffinity: desired.sessionAffinity,
          healthChecks: [hcLink],
          instances: first,
        };
        await this.gce.insertPool(resource, call);
        for (const batch of chunks(rest.flat(), MAX_UPDATE_INSTANCES))
          await this.gce.addInstances(names.lb, batch, call);
      });
    } else {
      steps.push(...this.membershipSteps(names.lb, pool, instances, call));
    }

    // 5. The forwarding rule: its IP is the load balancer's address.
    if (!rule || recreateRule) {
      step('create', 'forwardingRule', names.lb, async () => {
        const resource: ForwardingRule = {
          name: names.lb,
          description: owner,
          IPProtocol: desired.protocol,
          portRange: desired.portRange,
          target: poolLink,
          loadBalancingScheme: 'EXTERNAL',
          networkTier: tier,
        };
        if (ruleIp) resource.IPAddress = ruleIp;
        await this.gce.insertRule(resource, call);
        state.ip = ruleIp ?? (await this.gce.getRule(names.lb, call))?.IPAddress ?? null;
      });
    }

    // 6. The traffic firewall: the Service ports from the allowed ranges, to the load balancer's address.
    const trafficFor = (ip: string | null) =>
      this.firewall(
        names.trafficFirewall,
        owner,
        desired.sourceRanges,
        ip ? [ip] : [],
        desired.protocol.toLowerCase(),
        desired.ports,
      );
    const knownIp = ruleIp ?? (recreateRule ? null : (rule?.IPAddress ?? null));
    if (!observed.trafficFirewall) {
      step('create', 'firewall', names.trafficFirewall, () => this.gce.insertFirewall(trafficFor(state.ip), call));
    } else if (!knownIp || firewallDiffers(observed.trafficFirewall, trafficFor(knownIp))) {
      step('update', 'firewall', names.trafficFirewall, () => this.gce.patchFirewall(trafficFor(state.ip), call));
    }

    // 7. Release our reservation when no static address is wanted: GCE demotes it, the rule keeps the IP.
    if (releaseOurs) step('delete', 'address', names.lb, () => this.gce.deleteAddress(names.lb, call));

    // 8. After a Local -> Cluster flip, the Service's own health check and its firewall are no longer used.
    const usedBefore = (hcName: string) =>
      (pool?.healthChecks ?? []).some((l) => l.endsWith(`/httpHealthChecks/${hcName}`));
    if (shared && usedBefore(names.localHealthCheck)) {
      step('delete', 'httpHealthCheck', names.localHealthCheck, () =>
        this.gce.deleteHealthCheck(names.localHealthCheck, call),
      );
      step('delete', 'firewall', names.localHealthCheckFirewall, () =>
        this.gce.deleteFirewall(names.localHealthCheckFirewall, call),
      );
    }
    // 9. After a Cluster -> Local flip, the cluster's node check goes if this pool was its last user.
    if (!shared && usedBefore(names.nodeHealthCheck)) {
      steps.push({
        action: { action: 'delete', resource: 'httpHealthCheck', name: names.nodeHealthCheck, detail: 'if unused' },
        run: async () => void (await this.deleteSharedHealthCheckIfUnused(names, call)),
      });
    }
    return steps;
  }

  /** Adds what is missing, then removes what is extra, each in batches of <= 1000 (reference 2.5). */
  private membershipSteps(pool: string, observed: TargetPool, wanted: string[], call: Call): Step[] {
    const have = new Set((observed.instances ?? []).map(instanceKey));
    const want = new Set(wanted.map(instanceKey));
    const add = wanted.filter((i) => !have.has(instanceKey(i)));
    const remove = (observed.instances ?? []).filter((i) => !want.has(instanceKey(i)));
    return [
      ...chunks(add, MAX_UPDATE_INSTANCES).map((batch) => ({
        action: { action: 'update' as const, resource: 'targetPool', name: pool, detail: `add ${batch.length}` },
        run: () => this.gce.addInstances(pool, batch, call),
      })),
      ...chunks(remove, MAX_UPDATE_INSTANCES).map((batch) => ({
        action: { action: 'update' as const, resource: 'targetPool', name: pool, detail: `remove ${batch.length}` },
        run: () => this.gce.removeInstances(pool, batch, call),
      })),
    ];
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

  private firewall(
    name: string,
    description: string,
    sourceRanges: string[],
    destinationRanges: string[],
    protocol: string,
    ports: string[],
  ): Firewall {
    const firewall: Firewall = {
      name,
      description,
      network: `${URL_BASE}projects/${this.gce.project}/global/networks/${this.config.network}`,
      sourceRanges: [...sourceRanges].sort(),
      allowed: [{ IPProtocol: protocol, ports }],
    };
    if (destinationRanges.length > 0) firewall.destinationRanges = destinationRanges;
    if (this.config.nodeTags.length > 0) firewall.targetTags = [...this.config.nodeTags].sort();
    return firewall;
  }

  private firewallStep(
    step: (a: PlannedAction['action'], r: string, n: string, run: () => Promise<void>) => void,
    observed: Firewall | null,
    desired: Firewall,
    call: Call,
    shared: boolean,
  ): void {
    if (!observed) {
      step('create', 'firewall', desired.name!, () =>
        this.tolerateRace(shared, this.gce.insertFirewall(desired, call)),
      );
    } else if (firewallDiffers(observed, desired)) {
      step('update', 'firewall', desired.name!, () => this.gce.patchFirewall(desired, call));
    }
  }

  /** The shared node health check: another Service creating it at the same moment is not a failure. */
  private async tolerateRace(shared: boolean, insert: Promise<void>): Promise<void> {
    try {
      await insert;
    } catch (error) {
      if (!(shared && error instanceof ProviderError && error.reason === 'GceConflict')) throw error;
    }
  }

  /**
   * Deletes the cluster's node health check and its firewall when no target pool uses the check (reference 2.6).
   * Decided from a pool list rather than by trying the delete, so a check still shared costs reads, not a refused
   * write; a 400 "being used by" (a pool created meanwhile) or 404 (deleted meanwhile) is still fine.
   */
  private deleteSharedHealthCheckIfUnused(names: LoadBalancerNames, call: Call): Promise<boolean> {
    return this.sharedCheck.exclusive(call.signal, () => this.deleteSharedHealthCheckIfUnusedLocked(names, call));
  }

  private async deleteSharedHealthCheckIfUnusedLocked(names: LoadBalancerNames, call: Call): Promise<boolean> {
    const [hc, firewall] = await Promise.all([
      this.gce.getHealthCheck(names.nodeHealthCheck, call),
      this.gce.getFirewall(names.nodeHealthCheckFirewall, call),
    ]);
    if (!hc && !firewall) return false;
    const pools = await this.gce.listPools(call);
    const suffix = `/global/httpHealthChecks/${names.nodeHealthCheck}`;
    if (pools.some((p) => (p.healthChecks ?? []).some((l) => l.endsWith(suffix)))) return false;
    if (hc) {
      try {
        await this.gce.deleteHealthCheck(names.nodeHealthCheck, call);
      } catch (error) {
        if (error instanceof ProviderError && error.reason === 'GceResourceInUse') return false;
        if (!(error instanceof ProviderError && error.reason === 'GceNotFound')) throw error;
      }
    }
    if (firewall) await this.gce.deleteFirewall(names.nodeHealthCheckFirewall, call);
    return true;
  }
}

/** A regional external address's or rule's tier; GCE reports PREMIUM when none was asked for. */
function tierOf(resource: { networkTier?: string | null }): string {
  return resource.networkTier || 'PREMIUM';
}

function wrongTier(ip: string, has: string, wanted: string): TerminalError {
  return new TerminalError(
    'NetworkTierMismatch',
    `the requested address ${ip} is a ${has} tier address and an address cannot change tier; ` +
      `request a ${wanted} tier address or set ${NETWORK_TIER_ANNOTATION}: ${has === 'STANDARD' ? 'Standard' : 'Premium'}`,
  );
}

function healthCheckDiffers(observed: HttpHealthCheck, desired: HttpHealthCheck): boolean {
  return (
    observed.port !== desired.port ||
    observed.requestPath !== desired.requestPath ||
    observed.checkIntervalSec !== desired.checkIntervalSec ||
    observed.timeoutSec !== desired.timeoutSec ||
    observed.healthyThreshold !== desired.healthyThreshold ||
    observed.unhealthyThreshold !== desired.unhealthyThreshold
  );
}

function firewallDiffers(observed: Firewall, desired: Firewall): boolean {
  const norm = (f: Firewall) =>
    JSON.stringify({
      network: instanceKey(f.network ?? ''),
      sourceRanges: [...(f.sourceRanges ?? [])].sort(),
      destinationRanges: [...(f.destinationRanges ?? [])].sort(),
      targetTags: [...(f.targetTags ?? [])].sort(),
      allowed: (f.allowed ?? []).map((a) => ({ IPProtocol: a.IPProtocol, ports: [...(a.ports ?? [])] })),
    });
  return norm(observed) !== norm(desired);
}
