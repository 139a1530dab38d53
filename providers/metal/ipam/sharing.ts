// When two Services may hold the same address (MetalLB's rule): only when both asked for it with the same sharing
// key; when either has externalTrafficPolicy Local, both must be Local with the same selector (a Local address is
// announced only from nodes running the Service's endpoints, and two endpoint sets need not share a node); and no
// port+protocol is used by both (otherwise the node could not tell whose connection a packet belongs to).
import type { Protocol } from '../../../src/contract/spec.ts';
import { AllocReason } from './reasons.ts';

export interface PortClaim {
  port: number;
  protocol: Protocol;
}

export type TrafficPolicy = 'Cluster' | 'Local';

export interface SharingClaim {
  sharingKey: string | null;
  ports: readonly PortClaim[];
  /** The Service's externalTrafficPolicy; absent means Cluster. */
  trafficPolicy?: TrafficPolicy;
  /** selectorKeyOf(spec.selector); compared only when the policy is Local. Absent means no selector (''). */
  selectorKey?: string;
}

export type SharingVerdict =
  | { ok: true }
  | {
      ok: false;
      reason:
        | typeof AllocReason.AddressInUse
        | typeof AllocReason.TrafficPolicyConflict
        | typeof AllocReason.PortCollision;
      detail: string;
    };

/** Whether `wanted` may join `holder` on one address. */
export function mayShare(holder: SharingClaim, wanted: SharingClaim): SharingVerdict {
  if (holder.sharingKey === null || wanted.sharingKey === null || holder.sharingKey !== wanted.sharingKey) {
    return { ok: false, reason: AllocReason.AddressInUse, detail: sharingKeyMismatch(holder, wanted) };
  }
  if (!sameBackends(holder, wanted)) {
    const detail = `both must be externalTrafficPolicy Local with the same selector to share it (it is ${describeBackends(holder)}, this Service is ${describeBackends(wanted)})`;
    return { ok: false, reason: AllocReason.TrafficPolicyConflict, detail };
  }
  const clash = wanted.ports.find((w) => holder.ports.some((h) => h.port === w.port && h.protocol === w.protocol));
  if (clash)
    return { ok: false, reason: AllocReason.PortCollision, detail: `both use ${clash.port}/${clash.protocol}` };
  return { ok: true };
}

/**
 * The canonical text of a label selector: `k=v` pairs sorted by key, joined by commas (what Kubernetes'
 * labels.Set.String() prints, which MetalLB compares), so equal selectors compare equal as strings.
 */
export function selectorKeyOf(selector: Record<string, string> | undefined): string {
  return Object.entries(selector ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** Cluster with Cluster always; Local only with Local of the same selector. */
function sameBackends(holder: SharingClaim, wanted: SharingClaim): boolean {
  const [a, b] = [policyOf(holder), policyOf(wanted)];
  if (a === 'Cluster' && b === 'Cluster') return true;
  return a === 'Local' && b === 'Local' && (holder.selectorKey ?? '') === (wanted.selectorKey ?? '');
}

function policyOf(claim: SharingClaim): TrafficPolicy {
  return claim.trafficPolicy ?? 'Cluster';
}

function describeBackends(claim: SharingClaim): string {
  if (policyOf(claim) === 'Cluster') return 'Cluster';
  const selector = claim.selectorKey ?? '';
  return selector === '' ? 'Local with no selector' : `Local with selector ${selector}`;
}

function sharingKeyMismatch(holder: SharingClaim, wanted: SharingClaim): string {
  if (holder.sharingKey === null) return 'it does not allow sharing';
  if (wanted.sharingKey === null) return 'this Service has no sharing key';
  return `the sharing keys differ ("${holder.sharingKey}" vs "${wanted.sharingKey}")`;
}
