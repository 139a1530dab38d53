// The metal provider's own Service annotations, and checkService: reading them (with what sharing depends on) once
// into typed MetalOptions. Pure. The core never reads them. An annotation that looks meant for us but is not read
// is never passed over in silence (the Service would get an automatic address it did not ask for): a misspelt
// drawbridge.io/ key or one of MetalLB's request annotations is a problem (Warning, no address until fixed);
// what MetalLB writes for itself is only mentioned (a Warning when the address is assigned).
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceCheck, SpecProblem } from '../../src/contract/provider.ts';
import {
  annotationPath,
  LOAD_BALANCER_IPS_ANNOTATION,
  OWNER_CLASS_ANNOTATION,
  RELEASE_ANNOTATION,
} from '../../src/lib/service/annotations.ts';
import { selectorKeyOf } from './ipam/sharing.ts';

/** Name of the AddressPool to allocate from. */
export const ADDRESS_POOL_ANNOTATION = 'drawbridge.io/address-pool';

/** Sharing key: Services with the same key may share one address when their ports do not collide. */
export const ALLOW_SHARED_IP_ANNOTATION = 'drawbridge.io/allow-shared-ip';

/** Written by the speaker that announces the address (src/speaker, which this provider may not import). */
const ANNOUNCING_NODE_ANNOTATION = 'drawbridge.io/announcing-node';

/** The drawbridge.io/ keys a user sets on a metal Service (read by the core or by metal)... */
const READ_KEYS = [
  LOAD_BALANCER_IPS_ANNOTATION,
  ADDRESS_POOL_ANNOTATION,
  ALLOW_SHARED_IP_ANNOTATION,
  RELEASE_ANNOTATION,
];
/** ...and those Drawbridge writes on it. */
const WRITTEN_KEYS = [OWNER_CLASS_ANNOTATION, ANNOUNCING_NODE_ANNOTATION];

/** MetalLB's Service annotations that ask for something, under both its prefixes, and the key that replaces each. */
const METALLB_PREFIXES = ['metallb.universe.tf/', 'metallb.io/'];
const METALLB_REPLACEMENTS: Record<string, string> = {
  loadBalancerIPs: LOAD_BALANCER_IPS_ANNOTATION,
  'address-pool': ADDRESS_POOL_ANNOTATION,
  'allow-shared-ip': ALLOW_SHARED_IP_ANNOTATION,
};

export const AnnotationReason = {
  /** One of MetalLB's request annotations: Drawbridge reads its drawbridge.io/ replacement instead. */
  unsupported: 'UnsupportedAnnotation',
  /** A drawbridge.io/ key no part of Drawbridge reads or writes (a misspelling). */
  unknown: 'UnknownAnnotation',
  /** A MetalLB annotation that asks for nothing (ip-allocated-from-pool): served, with this Warning. */
  ignored: 'IgnoredAnnotation',
} as const;

export interface MetalOptions {
  /** The AddressPool named by the Service, if any. */
  pool: string | undefined;
  /** Services with the same key may share an address (ports permitting). */
  sharingKey: string | null;
  /** Sharing also depends on these: `Local` Services share only with `Local` ones of the same selector. */
  trafficPolicy: 'Cluster' | 'Local';
  selectorKey: string;
  /** MetalLB annotations that ask for nothing and are not read: a Warning names them when an address is assigned. */
  ignored: string[];
}

/** A DNS-1123 subdomain: what a Kubernetes object name (an AddressPool) may be. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkMetalService(service: Readonly<V1Service>): ServiceCheck<MetalOptions> {
  const annotations = service.metadata?.annotations ?? {};
  const problems: SpecProblem[] = [];
  const pool = annotations[ADDRESS_POOL_ANNOTATION];
  if (pool !== undefined && (pool.length > 253 || !OBJECT_NAME.test(pool))) {
    problems.push({
      path: `metadata.annotations[${JSON.stringify(ADDRESS_POOL_ANNOTATION)}]`,
      reason: 'InvalidAnnotation',
      message: `${JSON.stringify(pool)} is not a valid AddressPool name (lowercase DNS subdomain)`,
    });
  }
  const ignored: string[] = [];
  for (const key of Object.keys(annotations).sort()) {
    const unread = unreadAnnotation(key);
    if (unread === 'ignored') ignored.push(key);
    else if (unread) problems.push({ path: annotationPath(key), ...unread });
  }
  const sharingKey = annotations[ALLOW_SHARED_IP_ANNOTATION];
  return {
    options: {
      pool,
      sharingKey: sharingKey === undefined || sharingKey === '' ? null : sharingKey,
      trafficPolicy: service.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      selectorKey: selectorKeyOf(service.spec?.selector),
      ignored,
    },
    problems,
  };
}

/** Why an annotation that looks meant for metal is not read: a problem, 'ignored', or null when it is fine. */
function unreadAnnotation(key: string): Omit<SpecProblem, 'path'> | 'ignored' | null {
  if (key.startsWith('drawbridge.io/')) {
    if (READ_KEYS.includes(key) || WRITTEN_KEYS.includes(key)) return null;
    return {
      reason: AnnotationReason.unknown,
      message: `${key} is not an annotation Drawbridge reads (metal reads ${READ_KEYS.join(', ')})`,
    };
  }
  const prefix = METALLB_PREFIXES.find((p) => key.startsWith(p));
  if (!prefix) return null;
  const replacement = METALLB_REPLACEMENTS[key.slice(prefix.length)];
  if (!replacement) return 'ignored';
  return {
    reason: AnnotationReason.unsupported,
    message: `${key} is MetalLB's and Drawbridge does not read it: use ${replacement} (docs/migrate-from-metallb.md)`,
  };
}
