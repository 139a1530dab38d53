// The configuration lines that turn FRR's state `from` into `to`, changing only what differs: a Service added or
// removed is one `network` line and one prefix-list entry per peer, never a re-render and reload of the whole
// configuration (which is what resets the sessions of MetalLB's FRR mode). Lines are in FRR's CLI, each starting
// from the configuration root (`configure terminal` already entered); bfdd and bgpd get theirs on their own sockets.
// Order matters: what a line refers to exists before it (profiles before neighbors, prefix-list entries and
// route-maps before `network`), and goes only after the last line that used it.
import type { BfdProfile } from '../../../providers/metal/model/bgp-types.ts';
import { type FrrAttributes, type FrrNeighbor, type FrrState, prefixListName } from './frr-state.ts';

export interface FrrCommands {
  /** bfdd, before bgpd's lines: new and changed profiles. */
  bfdBefore: string[];
  bgp: string[];
  /** bfdd, after bgpd's lines: profiles no neighbor uses any more. */
  bfdAfter: string[];
}

const six = (text: string) => text.includes(':');
const af = (ipv6: boolean) => `address-family ${ipv6 ? 'ipv6' : 'ipv4'} unicast`;
const ip = (ipv6: boolean) => (ipv6 ? 'ipv6' : 'ip');
/** Never announced (no pool holds 0.0.0.0 or ::): a prefix-list with no other entry still exists, and denies all. */
const sentinel = (ipv6: boolean) => (ipv6 ? '::/128' : '0.0.0.0/32');
/** Well-known communities as FRR spells them. */
const COMMUNITY_SPELLING: Record<string, string> = { 'local-as': 'local-AS' };

export function frrCommands(from: FrrState, to: FrrState): FrrCommands {
  const out: FrrCommands = { bfdBefore: [], bgp: [], bfdAfter: [] };
  for (const [name, profile] of to.bfdProfiles) {
    const old = from.bfdProfiles.get(name);
    if (old === undefined || !sameProfile(old, profile)) out.bfdBefore.push(...profileLines(name, profile));
  }
  for (const name of from.bfdProfiles.keys())
    if (!to.bfdProfiles.has(name)) out.bfdAfter.push('bfd', `no profile ${name}`, 'exit');

  const bgp = out.bgp;
  // A new local ASN is a new instance: everything under the old one goes with it (prefix-lists and route-maps are
  // not under it, and stay).
  const restart = from.asn !== to.asn;
  const was = restart ? { ...from, neighbors: new Map(), networks: new Map() } : from;
  if (restart && from.asn !== undefined) bgp.push(`no router bgp ${from.asn}`);

  // Prefix-list entries for prefixes a neighbor gains, before the `network` that would send them.
  const removals: string[] = [];
  for (const [address, prefixes] of to.exports) {
    const before = from.exports.get(address);
    const list = prefixListName(address);
    if (before === undefined) bgp.push(`${ip(six(address))} prefix-list ${list} seq 1 deny ${sentinel(six(address))}`);
    for (const prefix of prefixes)
      if (!before?.has(prefix)) bgp.push(`${ip(six(address))} prefix-list ${list} permit ${prefix}`);
    for (const prefix of before ?? [])
      if (!prefixes.has(prefix)) removals.push(`no ${ip(six(address))} prefix-list ${list} permit ${prefix}`);
  }
  for (const [name, attributes] of to.routeMaps)
    if (!from.routeMaps.has(name)) bgp.push(...routeMapLines(name, attributes));

  if (to.asn !== undefined) {
    const inside: string[] = [];
    if (restart) {
      inside.push(
        'no bgp ebgp-requires-policy',
        'no bgp network import-check',
        // Each neighbor is activated in its own family only (frr-state.ts).
        'no bgp default ipv4-unicast',
      );
    }
    if (restart || from.routerId !== to.routerId) {
      inside.push(to.routerId === undefined ? 'no bgp router-id' : `bgp router-id ${to.routerId}`);
    }
    for (const address of was.neighbors.keys()) if (!to.neighbors.has(address)) inside.push(`no neighbor ${address}`);
    for (const [address, neighbor] of to.neighbors) {
      const old = was.neighbors.get(address) as FrrNeighbor | undefined;
      inside.push(...neighborLines(neighbor, old?.incomplete ? undefined : old));
    }
    for (const ipv6 of [false, true]) {
      const lines: string[] = [];
      for (const [prefix, map] of to.networks) {
        if (six(prefix) !== ipv6 || was.networks.get(prefix) === map) continue;
        lines.push(map === '' ? `network ${prefix}` : `network ${prefix} route-map ${map}`);
      }
      for (const prefix of was.networks.keys())
        if (six(prefix) === ipv6 && !to.networks.has(prefix)) lines.push(`no network ${prefix}`);
      if (lines.length > 0) inside.push(af(ipv6), ...lines, 'exit-address-family');
    }
    if (inside.length > 0) bgp.push(`router bgp ${to.asn}`, ...inside, 'exit');
  }

  bgp.push(...removals);
  for (const address of from.exports.keys()) {
    if (!to.exports.has(address)) bgp.push(`no ${ip(six(address))} prefix-list ${prefixListName(address)}`);
  }
  for (const name of from.routeMaps.keys()) if (!to.routeMaps.has(name)) bgp.push(`no route-map ${name}`);
  return out;
}

/** The lines (one neighbor's, inside `router bgp`) that make `old` (absent: none) into `now`. */
function neighborLines(now: FrrNeighbor, old: FrrNeighbor | undefined): string[] {
  const n = `neighbor ${now.address}`;
  const lines: string[] = [];
  const changed = (key: keyof FrrNeighbor) => old === undefined || old[key] !== now[key];
  if (changed('remoteAs')) lines.push(`${n} remote-as ${now.remoteAs}`);
  // A new neighbor stays shut down until every line of it is in: a session opened between its `remote-as` and its
  // address family's `activate` lacks the capabilities the peer requires, and the peer resets it.
  if (old === undefined) lines.push(`${n} shutdown`);
  if (old === undefined) {
    // Withdrawals and new routes go out at once (the eBGP default waits up to 30 s between updates), and a
    // session that went down is retried after 2 s, not 120.
    lines.push(`${n} advertisement-interval 0`, `${n} timers connect 2`);
  }
  if (changed('port')) lines.push(`${n} port ${now.port}`);
  if (changed('holdTime') || changed('keepalive')) lines.push(`${n} timers ${now.keepalive} ${now.holdTime}`);
  if (changed('ebgpMultihop')) lines.push(now.ebgpMultihop ? `${n} ebgp-multihop` : `no ${n} ebgp-multihop`);
  if (changed('sourceAddress')) {
    lines.push(now.sourceAddress === undefined ? `no ${n} update-source` : `${n} update-source ${now.sourceAddress}`);
  }
  if (changed('password'))
    lines.push(now.password === undefined ? `no ${n} password` : `${n} password ${now.password}`);
  if (changed('bfdProfile'))
    lines.push(now.bfdProfile === undefined ? `no ${n} bfd` : `${n} bfd profile ${now.bfdProfile}`);
  if (old === undefined) {
    const ipv6 = six(now.address);
    // Activated in its own family only; the prefix-list is its whole outbound policy.
    lines.push(af(ipv6), `${n} activate`, `${n} prefix-list ${prefixListName(now.address)} out`, 'exit-address-family');
    lines.push(`no ${n} shutdown`);
  }
  // An unchanged neighbor gets no line at all: FRR resets a session for some of these (remote-as, password).
  return lines;
}

function profileLines(name: string, p: BfdProfile): string[] {
  return [
    'bfd',
    `profile ${name}`,
    `receive-interval ${p.receiveIntervalMs}`,
    `transmit-interval ${p.transmitIntervalMs}`,
    `detect-multiplier ${p.detectMultiplier}`,
    p.echoMode ? 'echo-mode' : 'no echo-mode',
    p.passiveMode ? 'passive-mode' : 'no passive-mode',
    `minimum-ttl ${p.minimumTtl}`,
    'exit',
    'exit',
  ];
}

function routeMapLines(name: string, a: FrrAttributes): string[] {
  return [
    `route-map ${name} permit 1`,
    ...(a.communities.length > 0
      ? [`set community ${a.communities.map((c) => COMMUNITY_SPELLING[c] ?? c).join(' ')}`]
      : []),
    ...(a.largeCommunities.length > 0 ? [`set large-community ${a.largeCommunities.join(' ')}`] : []),
    ...(a.localPref === undefined ? [] : [`set local-preference ${a.localPref}`]),
    'exit',
  ];
}

/** The same timers and modes (the Kubernetes name aside: the FRR name already carries it). */
function sameProfile(a: BfdProfile, b: BfdProfile): boolean {
  const keys = ['receiveIntervalMs', 'transmitIntervalMs', 'detectMultiplier', 'echoMode', 'passiveMode', 'minimumTtl'];
  return (keys as Array<keyof BfdProfile>).every((key) => a[key] === b[key]);
}
