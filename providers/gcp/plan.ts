// The gcp provider's plan: every GCE change that converges what exists (observe.ts) to what is wanted (desired.ts),
// as steps in the order upstream runs them (reference 2.4). plan() returns their actions, ensure() runs them
// (apply.ts). Planning reads only to choose between a user's reserved address and ours (listAddresses).
import { type LoadBalancerSpec, type PlannedAction, ProviderError } from '../../src/contract/provider.ts';
import { chunks, type DesiredLoadBalancer, HEALTH_CHECK_RANGES, HEALTH_CHECK_TIMINGS, instanceKey } from './desired.ts';
import type { Call, ForwardingRule, Gce, HttpHealthCheck, TargetPool } from './gce.ts';
import { clusterDescription, ownerDescription } from './names.ts';
import type { Observed } from './observe.ts';
import {
  type FirewallScope,
  firewallDiffers,
  firewallFor,
  healthCheckDiffers,
  tierOf,
  URL_BASE,
  wrongTier,
} from './resources.ts';
import type { SharedCheckLock } from './shared-lock.ts';
import { deleteSharedHealthCheckIfUnused } from './teardown.ts';

/** Upstream's batch sizes (reference 2.3): instances in a pool insert, and per add/removeInstance call. */
const MAX_CREATE_INSTANCES = 200;
const MAX_UPDATE_INSTANCES = 1000;

export interface Step {
  action: PlannedAction;
  run(): Promise<void>;
}

export interface StepContext {
  gce: Gce;
  scope: FirewallScope;
  lock: SharedCheckLock;
  call: Call;
}

/** The load balancer's address as the steps learn it (a created rule's ephemeral IP is known only after). */
export interface AddressState {
  ip: string | null;
}

/** Every change that converges `observed` to `desired` with `instances` in the pool, in the order it must run. */
export async function planSteps(
  ctx: StepContext,
  spec: Readonly<LoadBalancerSpec>,
  desired: DesiredLoadBalancer,
  observed: Observed,
  instances: string[],
  state: AddressState,
): Promise<Step[]> {
  const { gce, call } = ctx;
  const { names } = desired;
  const owner = ownerDescription(spec.identity);
  const hcLink = `${URL_BASE}projects/${gce.project}/global/httpHealthChecks/${desired.healthCheck.name}`;
  const poolLink = `${URL_BASE}projects/${gce.project}/regions/${gce.region}/targetPools/${names.lb}`;
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
      const users = (await gce.listAddresses(call)).filter((a) => a.address === desired.staticIp);
      const usersOwn = users.find((a) => a.name !== names.lb);
      // Checked before anything is deleted: the rule must not go for an address it could not use.
      if (usersOwn && tierOf(usersOwn) !== tier) throw wrongTier(desired.staticIp, tierOf(usersOwn), tier);
      if (ours) step('delete', 'address', names.lb, () => gce.deleteAddress(names.lb, call));
      if (!usersOwn) {
        step('create', 'address', names.lb, () =>
          gce.insertAddress({ name: names.lb, address: desired.staticIp, description: owner, networkTier: tier }, call),
        );
      }
    }
  }

  // 2. What GCE cannot update in place: a rule with another protocol, range, IP or target; a pool with another
  // affinity or health check. The rule goes first: a pool a rule targets cannot be deleted.
  const { rule, pool } = observed;
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
        if (observed.address) step('delete', 'address', names.lb, () => gce.deleteAddress(names.lb, call));
        step('create', 'address', names.lb, () =>
          gce.insertAddress({ name: names.lb, address: ruleIp, description: owner, networkTier: tier }, call),
        );
      }
    }
    step('delete', 'forwardingRule', names.lb, () => gce.deleteRule(names.lb, call));
  }

  // 3. The health check and the firewall that lets Google's checkers reach it.
  const shared = desired.healthCheck.shared;
  const hc: HttpHealthCheck = {
    name: desired.healthCheck.name,
    description: shared ? clusterDescription(spec.identity.clusterName) : owner,
    port: desired.healthCheck.port,
    requestPath: desired.healthCheck.path,
    ...HEALTH_CHECK_TIMINGS,
  };
  if (!observed.healthCheck) {
    step('create', 'httpHealthCheck', hc.name, () => tolerateRace(shared, gce.insertHealthCheck(hc, call)));
  } else if (healthCheckDiffers(observed.healthCheck, hc)) {
    step('update', 'httpHealthCheck', hc.name, () => gce.updateHealthCheck(hc, call));
  }
  const hcFirewall = firewallFor(ctx.scope, {
    name: desired.healthCheck.firewall,
    description: hc.description!,
    sourceRanges: HEALTH_CHECK_RANGES,
    destinationRanges: [],
    protocol: 'tcp',
    ports: [String(desired.healthCheck.port)],
  });
  if (!observed.healthCheckFirewall) {
    step('create', 'firewall', hcFirewall.name!, () => tolerateRace(shared, gce.insertFirewall(hcFirewall, call)));
  } else if (firewallDiffers(observed.healthCheckFirewall, hcFirewall)) {
    step('update', 'firewall', hcFirewall.name!, () => gce.patchFirewall(hcFirewall, call));
  }

  // 4. The target pool and its members.
  if (!pool || poolStale) {
    if (poolStale) step('delete', 'targetPool', names.lb, () => gce.deletePool(names.lb, call));
    const [first = [], ...rest] = chunks(instances, MAX_CREATE_INSTANCES);
    step('create', 'targetPool', names.lb, async () => {
      const resource: TargetPool = {
        name: names.lb,
        description: owner,
        sessionAffinity: desired.sessionAffinity,
        healthChecks: [hcLink],
        instances: first,
      };
      await gce.insertPool(resource, call);
      for (const batch of chunks(rest.flat(), MAX_UPDATE_INSTANCES)) await gce.addInstances(names.lb, batch, call);
    });
  } else {
    steps.push(...membershipSteps(gce, names.lb, pool, instances, call));
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
      await gce.insertRule(resource, call);
      state.ip = ruleIp ?? (await gce.getRule(names.lb, call))?.IPAddress ?? null;
    });
  }

  // 6. The traffic firewall: the Service ports from the allowed ranges, to the load balancer's address.
  const trafficFor = (ip: string | null) =>
    firewallFor(ctx.scope, {
      name: names.trafficFirewall,
      description: owner,
      sourceRanges: desired.sourceRanges,
      destinationRanges: ip ? [ip] : [],
      protocol: desired.protocol.toLowerCase(),
      ports: desired.ports,
    });
  const knownIp = ruleIp ?? (recreateRule ? null : (rule?.IPAddress ?? null));
  if (!observed.trafficFirewall) {
    step('create', 'firewall', names.trafficFirewall, () => gce.insertFirewall(trafficFor(state.ip), call));
  } else if (!knownIp || firewallDiffers(observed.trafficFirewall, trafficFor(knownIp))) {
    step('update', 'firewall', names.trafficFirewall, () => gce.patchFirewall(trafficFor(state.ip), call));
  }

  // 7. Release our reservation when no static address is wanted: GCE demotes it, the rule keeps the IP.
  if (releaseOurs) step('delete', 'address', names.lb, () => gce.deleteAddress(names.lb, call));

  // 8. After a Local -> Cluster flip, the Service's own health check and its firewall are no longer used.
  const usedBefore = (hcName: string) =>
    (pool?.healthChecks ?? []).some((l) => l.endsWith(`/httpHealthChecks/${hcName}`));
  if (shared && usedBefore(names.localHealthCheck)) {
    step('delete', 'httpHealthCheck', names.localHealthCheck, () =>
      gce.deleteHealthCheck(names.localHealthCheck, call),
    );
    step('delete', 'firewall', names.localHealthCheckFirewall, () =>
      gce.deleteFirewall(names.localHealthCheckFirewall, call),
    );
  }
  // 9. After a Cluster -> Local flip, the cluster's node check goes if this pool was its last user.
  if (!shared && usedBefore(names.nodeHealthCheck)) {
    steps.push({
      action: { action: 'delete', resource: 'httpHealthCheck', name: names.nodeHealthCheck, detail: 'if unused' },
      run: async () => void (await deleteSharedHealthCheckIfUnused(gce, ctx.lock, names, call)),
    });
  }
  return steps;
}

/** Adds what is missing, then removes what is extra, each in batches of <= 1000 (reference 2.5). */
export function membershipSteps(gce: Gce, pool: string, observed: TargetPool, wanted: string[], call: Call): Step[] {
  const have = new Set((observed.instances ?? []).map(instanceKey));
  const want = new Set(wanted.map(instanceKey));
  const add = wanted.filter((i) => !have.has(instanceKey(i)));
  const remove = (observed.instances ?? []).filter((i) => !want.has(instanceKey(i)));
  return [
    ...chunks(add, MAX_UPDATE_INSTANCES).map((batch) => ({
      action: { action: 'update' as const, resource: 'targetPool', name: pool, detail: `add ${batch.length}` },
      run: () => gce.addInstances(pool, batch, call),
    })),
    ...chunks(remove, MAX_UPDATE_INSTANCES).map((batch) => ({
      action: { action: 'update' as const, resource: 'targetPool', name: pool, detail: `remove ${batch.length}` },
      run: () => gce.removeInstances(pool, batch, call),
    })),
  ];
}

/** The shared node health check: another Service creating it at the same moment is not a failure. */
async function tolerateRace(shared: boolean, insert: Promise<void>): Promise<void> {
  try {
    await insert;
  } catch (error) {
    if (!(shared && error instanceof ProviderError && error.reason === 'GceConflict')) throw error;
  }
}
