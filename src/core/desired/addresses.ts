// Addresses a Service asks for, holds, and accepts traffic from. All are normalised (canonical text, network
// form for CIDRs) and deduplicated, keeping the user's order: the first requested address is the primary one.
import type { V1Service } from '@kubernetes/client-node';
import type { IpFamily } from '../../contract/spec.ts';
import { parseAddress, parseCidr } from '../../lib/net/ip.ts';
import {
  annotationPath,
  LOAD_BALANCER_IPS_ANNOTATION,
  SOURCE_RANGES_ANNOTATION,
  splitList,
} from '../../lib/service/annotations.ts';
import { type Checked, Reason, type SpecProblem } from './reasons.ts';

interface Entry {
  text: string;
  path: string;
}

/** spec.loadBalancerSourceRanges wins; the annotation is only read when the field is empty (as upstream does). */
export function buildSourceRanges(service: V1Service): Checked<string[]> {
  const fromSpec = service.spec?.loadBalancerSourceRanges ?? [];
  const fromAnnotation = service.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION];
  const entries: Entry[] =
    fromSpec.length > 0
      ? fromSpec.map((text, index) => ({ text: text.trim(), path: `spec.loadBalancerSourceRanges[${index}]` }))
      : listEntries(fromAnnotation, SOURCE_RANGES_ANNOTATION);
  const problems: SpecProblem[] = [];
  const ranges: string[] = [];
  for (const entry of entries) {
    const parsed = parseCidr(entry.text);
    if (parsed.ok) ranges.push(parsed.cidr);
    else problems.push({ path: entry.path, reason: Reason.InvalidSourceRange, message: parsed.why });
  }
  return { value: unique(ranges), problems };
}

/** spec.loadBalancerIP (deprecated upstream, still widely used) first, then the drawbridge.io annotation. */
export function buildRequestedAddresses(service: V1Service): Checked<string[]> {
  const problems: SpecProblem[] = [];
  const addresses: string[] = [];
  const accept = (entry: Entry, reason: Reason) => {
    const parsed = parseAddress(entry.text);
    if (!parsed.ok) problems.push({ path: entry.path, reason, message: parsed.why });
    // The unspecified address parses, but no provider can hand it out (kube-vip even treats it as "use DHCP").
    else if (parsed.address === '0.0.0.0' || parsed.address === '::')
      problems.push({ path: entry.path, reason, message: `${parsed.address} cannot be requested as an address` });
    else addresses.push(parsed.address);
  };
  const loadBalancerIP = service.spec?.loadBalancerIP ?? '';
  if (loadBalancerIP !== '')
    accept({ text: loadBalancerIP, path: 'spec.loadBalancerIP' }, Reason.InvalidLoadBalancerIP);
  const annotation = service.metadata?.annotations?.[LOAD_BALANCER_IPS_ANNOTATION];
  for (const entry of listEntries(annotation, LOAD_BALANCER_IPS_ANNOTATION)) accept(entry, Reason.InvalidAnnotation);
  return { value: unique(addresses), problems };
}

/**
 * A requested address of a family the Service does not have can never be served: an IPv4-only Service asking for
 * an IPv6 address would otherwise silently get an automatic IPv4 one instead of what it asked for.
 */
export function familyConflicts(service: V1Service, requested: string[], families: IpFamily[]): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const address of requested) {
    const family: IpFamily = address.includes(':') ? 'IPv6' : 'IPv4';
    if (families.includes(family)) continue;
    // Parsed only for a conflict: ipaddr.js rejects by throwing, which made this the costliest line of every
    // ensure (0.4 ms per Service in the metal burst's CPU profile) when it parsed the usual empty loadBalancerIP.
    const loadBalancerIP = parseAddress(service.spec?.loadBalancerIP ?? '');
    const fromField = loadBalancerIP.ok && loadBalancerIP.address === address;
    problems.push({
      path: fromField ? 'spec.loadBalancerIP' : annotationPath(LOAD_BALANCER_IPS_ANNOTATION),
      reason: Reason.AddressFamilyConflict,
      message:
        `${address} is an ${family} address but the Service's ipFamilies are [${families.join(', ')}]: ` +
        `request an address of its family, or add ${family} to spec.ipFamilies (ipFamilyPolicy PreferDualStack)`,
    });
  }
  return problems;
}

/**
 * What status.loadBalancer.ingress already holds. We wrote it ourselves, so an entry that does not parse (or a
 * hostname-only entry) is skipped rather than reported: it is not the user's mistake.
 */
export function currentAddresses(service: V1Service): string[] {
  const addresses: string[] = [];
  for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
    const parsed = parseAddress(ingress.ip ?? '');
    if (parsed.ok) addresses.push(parsed.address);
  }
  return unique(addresses);
}

/** Entries of a comma-separated annotation; the index in the path counts non-blank entries. */
function listEntries(value: string | undefined, key: string): Entry[] {
  return splitList(value ?? '').map((text, index) => ({ text, path: `${annotationPath(key)}[${index}]` }));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
