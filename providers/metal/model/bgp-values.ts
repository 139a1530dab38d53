// The value rules of the BGP resources that OpenAPI cannot express, so the apiserver admits objects that break them
// and bgp-schema.ts reports them instead: addresses and their families, hold-time and keepalive rules (RFC 4271
// 4.2 and 4.4), communities (RFC 1997, well-known names as FRR spells them) and large communities (RFC 8092).
import { parseAddress } from '../../../src/lib/net/ip.ts';
import type { Problem } from './schema.ts';

const WELL_KNOWN_COMMUNITIES = new Set(['no-export', 'no-advertise', 'local-as', 'no-peer']);
const U16_MAX = 65535;
const U32_MAX = 4294967295;

/** Why `text` is not an IP address, or undefined when it is one. */
export function ipProblem(text: string): string | undefined {
  const parsed = parseAddress(text);
  return parsed.ok ? undefined : parsed.why;
}

/** Seconds of a whole-second Go duration ("1m30s" -> 90); undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  const match = /^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(text);
  if (!match || text === '') return undefined;
  const [hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  return hours! * 3600 + minutes! * 60 + seconds!;
}

/** The checks of a BGPPeer spec that span fields or go beyond OpenAPI; each field is read only if well-typed. */
export function checkPeerSpec(spec: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const hold = typeof spec.holdTime === 'string' ? durationSeconds(spec.holdTime) : undefined;
  if (hold !== undefined && hold !== 0 && (hold < 3 || hold > U16_MAX)) {
    problems.push({ path: 'spec.holdTime', message: 'must be 0s (no keepalives) or between 3s and 65535s' });
  }
  const keepalive = typeof spec.keepaliveTime === 'string' ? durationSeconds(spec.keepaliveTime) : undefined;
  const effectiveHold = spec.holdTime === undefined ? 90 : hold;
  if (keepalive !== undefined && effectiveHold !== undefined) {
    if (effectiveHold === 0 && keepalive !== 0) {
      problems.push({ path: 'spec.keepaliveTime', message: 'must be 0s when holdTime is 0s' });
    } else if (effectiveHold !== 0 && keepalive >= effectiveHold) {
      problems.push({ path: 'spec.keepaliveTime', message: `must be below holdTime (${effectiveHold}s)` });
    }
  }
  if (typeof spec.routerID === 'string') {
    const parsed = parseAddress(spec.routerID);
    if (parsed.ok && parsed.family !== 'IPv4') {
      problems.push({ path: 'spec.routerID', message: 'must be an IPv4 address (a BGP identifier is 32 bits)' });
    }
  }
  if (typeof spec.peerAddress === 'string' && typeof spec.sourceAddress === 'string') {
    const peer = parseAddress(spec.peerAddress);
    const source = parseAddress(spec.sourceAddress);
    if (peer.ok && source.ok && peer.family !== source.family) {
      problems.push({ path: 'spec.sourceAddress', message: `must be ${peer.family}, as peerAddress is` });
    }
  }
  if (spec.disableBFD === true && typeof spec.bfdProfile === 'string') {
    problems.push({ path: 'spec.bfdProfile', message: 'names a profile while disableBFD is true: remove one' });
  }
  return problems;
}

/** Why `text` is not a community we can announce, or undefined when it is one. */
export function communityProblem(text: string): string | undefined {
  if (WELL_KNOWN_COMMUNITIES.has(text)) return undefined;
  const large = largeParts(text);
  if (large !== undefined) {
    return large.every((n) => n <= U32_MAX) ? undefined : 'each part of a large community must be at most 4294967295';
  }
  const parts = /^([0-9]{1,10}):([0-9]{1,10})$/.exec(text);
  if (!parts) {
    return `must be "asn:value", "large:global:local1:local2" or one of ${[...WELL_KNOWN_COMMUNITIES].join(', ')}`;
  }
  return Number(parts[1]) <= U16_MAX && Number(parts[2]) <= U16_MAX
    ? undefined
    : 'each part of a community must be at most 65535 (use "large:..." for 32-bit values)';
}

/** Standard communities (and well-known names) apart from large ones, which are returned as "a:b:c". */
export function splitCommunities(texts: readonly string[]): { communities: string[]; largeCommunities: string[] } {
  const communities: string[] = [];
  const largeCommunities: string[] = [];
  for (const text of texts) {
    const large = largeParts(text);
    if (large) largeCommunities.push(large.join(':'));
    else communities.push(WELL_KNOWN_COMMUNITIES.has(text) ? text : text.split(':').map(Number).join(':'));
  }
  return { communities, largeCommunities };
}

/** The three numbers of "large:a:b:c" (MetalLB's form) or "a:b:c"; undefined when `text` is neither. */
function largeParts(text: string): number[] | undefined {
  const match = /^(?:large:)?([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10})$/.exec(text);
  return match ? match.slice(1).map(Number) : undefined;
}
