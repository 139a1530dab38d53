// The serve path of reconcile: core and provider validation (invalid: Warning Events, no provider call), our
// finalizer on before any provider call, then updateHosts when only the nodes changed or ensure otherwise, the
// status if it changed, and Events only for real changes.
import { createHash } from 'node:crypto';
import type { V1Service } from '@kubernetes/client-node';
import { LoadBalancerNotFoundError } from '../../contract/provider.ts';
import type { LoadBalancerSpec, SpecProblem } from '../../contract/spec.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import { eligibleNodes } from '../../lib/service/eligibility.ts';
import { serviceRefOf } from '../../lib/service/keys.ts';
import { buildSpec, endpointNodesFromSlices } from '../desired/build.ts';
import { failureChanged } from './failure-log.ts';
import { EventReason, type ReconcileResult } from './reasons.ts';
import type { ReconcileContext, ReconcileDeps } from './reconcile-deps.ts';
import { currentIngress, describeIngress, toIngress } from './status.ts';

/** An ensure still running after this long on a Service with no address yet records EnsuringLoadBalancer. */
export const ENSURING_EVENT_AFTER_MS = 1000;

/**
 * The Service's desired load balancer, or every problem with it (the core's and the provider's): exactly what
 * serve acts on. `drawbridge plan` asks the same question (through Reconciler.desired).
 */
export function desiredOf(
  deps: ReconcileDeps,
  svc: V1Service,
): { ok: true; spec: LoadBalancerSpec } | { ok: false; problems: SpecProblem[] } {
  const { view, config, provider } = deps;
  const meta = svc.metadata ?? {};
  const check = provider.checkService(svc);
  const built = buildSpec({
    service: svc,
    nodes: eligibleNodes([...view.nodes()]),
    endpointNodes: endpointNodesFromSlices([...view.endpointSlices(meta.namespace ?? '', meta.name ?? '')]),
    clusterName: config.clusterName,
    loadBalancerClass: config.loadBalancerClass,
    providerOptions: check.options,
  });
  const problems = [...(built.ok ? [] : built.problems), ...check.problems];
  return built.ok && problems.length === 0 ? built : { ok: false, problems };
}

export async function serve(
  ctx: ReconcileContext,
  key: string,
  svc: V1Service,
  log: Logger,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  const { config, provider, events } = ctx.deps;
  const built = desiredOf(ctx.deps, svc);
  if (!built.ok) {
    for (const p of built.problems) events.record(serviceRefOf(svc), 'Warning', p.reason, `${p.path}: ${p.message}`);
    const message = 'invalid Service: no load balancer change';
    if (failureChanged(ctx.failures, key, svc, JSON.stringify(built.problems)))
      log.info({ problems: built.problems }, message);
    else log.debug({ problems: built.problems }, message);
    return 'invalid';
  }
  const spec = built.spec;
  const specHash = hashOf({ ...spec, nodes: [], endpointNodes: [], currentAddresses: [] });
  const hostsHash = hashOf([spec.nodes, spec.endpointNodes]);
  const before = ctx.applied.get(key);

  // Finalizer first: from here on a provider may create something, and deletion must come back to us.
  const current = await ctx.writes.finalize(key, svc, config.loadBalancerClass, signal);

  let hostsOnly = before !== undefined && before.specHash === specHash && before.hostsHash !== hostsHash;
  ctx.provisioned.set(key, spec.identity);
  if (hostsOnly && provider.updateHosts) {
    const updated = await ctx
      .call('updateHosts', signal, (o) => provider.updateHosts!(spec, o))
      .catch((error: unknown) => {
        // Gone behind our back (deleted in the cloud console): rebuilt below by ensure, as a creation is.
        if (!(error instanceof LoadBalancerNotFoundError)) throw error;
        log.warn({ reason: error.message }, 'load balancer missing on a node update: rebuilding it');
        hostsOnly = false;
        return null;
      });
    if (updated) {
      ctx.applied.set(key, { identity: spec.identity, specHash, hostsHash });
      if (!updated.changed) return 'unchanged';
      return hostsUpdated(ctx, svc, spec.nodes.length);
    }
  }

  const provisioning = currentIngress(svc).length === 0;
  // "Ensuring" tells a user watching a slow cloud create that work is under way; an address handed out at once
  // (metal, a converged cloud load balancer) would only pay an extra Event write for it.
  const ensuring = provisioning
    ? setTimeout(
        () => events.record(serviceRefOf(svc), 'Normal', EventReason.EnsuringLoadBalancer, 'Ensuring load balancer'),
        ENSURING_EVENT_AFTER_MS,
      )
    : undefined;
  // Said once per change, not at every resync or restart.
  const nodesChanged = before !== undefined && before.hostsHash !== hostsHash;
  if (spec.nodes.length === 0 && (provisioning || nodesChanged)) {
    events.record(
      serviceRefOf(svc),
      'Warning',
      EventReason.UnAvailableLoadBalancer,
      'There are no available nodes for LoadBalancer',
    );
  }
  const ensured = await ctx
    .call('ensure', signal, (o) => provider.ensure(spec, o))
    .finally(() => clearTimeout(ensuring));
  signal.throwIfAborted(); // nothing half-written: an aborted reconcile publishes no status
  const ingress = toIngress(ensured.status);
  const statusChanged = await ctx.writes.publish(key, current, ingress);
  ctx.applied.set(key, { identity: spec.identity, specHash, hostsHash });
  if (!ensured.changed && !statusChanged) return 'unchanged';
  if (hostsOnly) {
    return hostsUpdated(ctx, svc, spec.nodes.length);
  }
  events.record(
    serviceRefOf(svc),
    'Normal',
    EventReason.EnsuredLoadBalancer,
    `Ensured load balancer: ${describeIngress(ingress)}`,
  );
  log.info({ ingress: describeIngress(ingress) }, 'ensured load balancer');
  return 'ensured';
}

function hostsUpdated(ctx: ReconcileContext, svc: V1Service, nodes: number): ReconcileResult {
  ctx.deps.events.record(
    serviceRefOf(svc),
    'Normal',
    EventReason.UpdatedLoadBalancer,
    `Updated load balancer with ${nodes} node(s)`,
  );
  return 'hosts-updated';
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);
}
