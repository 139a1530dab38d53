// What the allocator is asked (AssignRequest) and what it answers: an address, or a typed reason it gives none.
import type { IpFamily } from '../../../src/lib/net/ip.ts';
import type { AllocReason } from './reasons.ts';
import type { PortClaim, TrafficPolicy } from './sharing.ts';

export interface AssignRequest {
  /** `namespace/name` of the Service. */
  key: string;
  namespace: string;
  /** Addresses the user asked for (loadBalancerIP, annotation); only those of `family` are considered. */
  requested: string[];
  /** Addresses already in the Service's status; one of `family` is kept while it is still valid. */
  current: string[];
  /** A pool named by the user; the address must come from it (even when it has autoAssign off). */
  pool?: string;
  sharingKey: string | null;
  ports: PortClaim[];
  /** externalTrafficPolicy; absent means Cluster. Decides, with selectorKey, who may share an address. */
  trafficPolicy?: TrafficPolicy;
  /** selectorKeyOf(spec.selector); absent means no selector. */
  selectorKey?: string;
  family: IpFamily;
}

export interface Allocation {
  ip: string;
  family: IpFamily;
  pool: string;
  sharingKey: string | null;
  ports: PortClaim[];
}

export interface AllocFailure {
  ok: false;
  reason: AllocReason;
  message: string;
}

export type AssignResult = { ok: true; ip: string; pool: string } | AllocFailure;
export type RestoreResult = { ok: true; ip: string; pool: string } | AllocFailure;

export interface PoolUsage {
  pool: string;
  /**
   * Addresses the pool can hand out (avoidBuggyIPs and IPv6 subnet-router anycast addresses excluded); bigint
   * because IPv6 pools exceed 2^53.
   */
  total: bigint;
  /** Distinct addresses in use (a shared address counts once). */
  used: number;
}
