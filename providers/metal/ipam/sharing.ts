// When two Services may hold the same address: only when both asked for it with the same sharing key, and no
// port+protocol is used by both (otherwise the node could not tell whose connection a packet belongs to).
import type { Protocol } from '../../../src/desired/types.ts';
import { AllocReason } from './reasons.ts';

export interface PortClaim {
  port: number;
  protocol: Protocol;
}

export interface SharingClaim {
  sharingKey: string | null;
  ports: readonly PortClaim[];
}

export type SharingVerdict =
  | { ok: true }
  | { ok: false; reason: typeof AllocReason.AddressInUse | typeof AllocReason.PortCollision; detail: string };

/** Whether `wanted` may join `holder` on one address. */
export function mayShare(holder: SharingClaim, wanted: SharingClaim): SharingVerdict {
  if (holder.sharingKey === null || wanted.sharingKey === null || holder.sharingKey !== wanted.sharingKey) {
    return { ok: false, reason: AllocReason.AddressInUse, detail: sharingKeyMismatch(holder, wanted) };
  }
  const clash = wanted.ports.find((w) => holder.ports.some((h) => h.port === w.port && h.protocol === w.protocol));
  if (clash)
    return { ok: false, reason: AllocReason.PortCollision, detail: `both use ${clash.port}/${clash.protocol}` };
  return { ok: true };
}

function sharingKeyMismatch(holder: SharingClaim, wanted: SharingClaim): string {
  if (holder.sharingKey === null) return 'it does not allow sharing';
  if (wanted.sharingKey === null) return 'this Service has no sharing key';
  return `the sharing keys differ ("${holder.sharingKey}" vs "${wanted.sharingKey}")`;
}
