// What is wrong with the cluster's BGP objects, as Warnings to record on them: each object that does not parse (with
// every problem), each reference to an AddressPool, BGPPeer or BFDProfile that does not exist, and a localPref that
// no peer it reaches will use (LOCAL_PREF is an iBGP attribute: an eBGP session never carries it). Pure, so the
// controller's watch and the tests share it. A bad object changes nothing else: the others are checked and used as
// if it were absent.
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseBfdProfile, parseBgpAdvertisement, parseBgpPeer } from '../model/bgp-schema.ts';
import {
  BFD_PROFILE_KIND,
  type BfdProfile,
  BGP_ADVERTISEMENT_KIND,
  BGP_PEER_KIND,
  type BgpAdvertisement,
  type BgpPeer,
} from '../model/bgp-types.ts';
import type { Problem } from '../model/schema.ts';

export const BgpEventReason = {
  InvalidBGPPeer: 'InvalidBGPPeer',
  InvalidBGPAdvertisement: 'InvalidBGPAdvertisement',
  InvalidBFDProfile: 'InvalidBFDProfile',
  BGPReferenceNotFound: 'BGPReferenceNotFound',
  LocalPrefIgnored: 'LocalPrefIgnored',
} as const;

export interface BgpObjects {
  peers: readonly KubernetesObject[];
  advertisements: readonly KubernetesObject[];
  profiles: readonly KubernetesObject[];
}

export interface BgpWarning {
  kind: string;
  name: string;
  uid: string | undefined;
  reason: string;
  message: string;
  /** The parse problems, when the object itself is invalid. */
  problems?: Problem[];
}

export interface BgpCheck {
  peers: BgpPeer[];
  advertisements: BgpAdvertisement[];
  profiles: BfdProfile[];
  warnings: BgpWarning[];
}

/** Parses every object and cross-checks the valid ones against each other and against the valid pools. */
export function checkBgp(objects: BgpObjects, poolNames: ReadonlySet<string>): BgpCheck {
  const warnings: BgpWarning[] = [];
  const parseAll = <T>(
    kind: string,
    reason: string,
    list: readonly KubernetesObject[],
    parse: (obj: unknown) => { ok: true; value: T } | { ok: false; problems: Problem[] },
  ): [T, KubernetesObject][] =>
    list.flatMap((obj) => {
      const parsed = parse(obj);
      if (parsed.ok) return [[parsed.value, obj] as [T, KubernetesObject]];
      const message = parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      warnings.push({ ...ref(kind, obj), reason, message, problems: parsed.problems });
      return [];
    });
  const peers = parseAll(BGP_PEER_KIND, BgpEventReason.InvalidBGPPeer, objects.peers, parseBgpPeer);
  const advertisements = parseAll(
    BGP_ADVERTISEMENT_KIND,
    BgpEventReason.InvalidBGPAdvertisement,
    objects.advertisements,
    parseBgpAdvertisement,
  );
  const profiles = parseAll(BFD_PROFILE_KIND, BgpEventReason.InvalidBFDProfile, objects.profiles, parseBfdProfile);

  const profileNames = new Set(profiles.map(([profile]) => profile.name));
  for (const [peer, obj] of peers) {
    if (peer.bfdProfile !== undefined && !profileNames.has(peer.bfdProfile)) {
      warnings.push({
        ...ref(BGP_PEER_KIND, obj),
        reason: BgpEventReason.BGPReferenceNotFound,
        message: `spec.bfdProfile: no valid BFDProfile ${peer.bfdProfile}`,
      });
    }
  }
  const peerByName = new Map(peers.map(([peer]) => [peer.name, peer]));
  for (const [advertisement, obj] of advertisements) {
    const missing = [
      ...advertisement.addressPools
        .filter((name) => !poolNames.has(name))
        .map((name) => `spec.ipAddressPools: no valid AddressPool ${name}`),
      ...advertisement.peers
        .filter((name) => !peerByName.has(name))
        .map((name) => `spec.peers: no valid BGPPeer ${name}`),
    ];
    if (missing.length > 0) {
      warnings.push({
        ...ref(BGP_ADVERTISEMENT_KIND, obj),
        reason: BgpEventReason.BGPReferenceNotFound,
        message: `${missing.join('; ')} (the other names still apply)`,
      });
    }
    const reached =
      advertisement.peers.length === 0
        ? [...peerByName.values()]
        : advertisement.peers.flatMap((name) => peerByName.get(name) ?? []);
    if (advertisement.localPref !== undefined && reached.length > 0 && reached.every((p) => p.myASN !== p.peerASN)) {
      warnings.push({
        ...ref(BGP_ADVERTISEMENT_KIND, obj),
        reason: BgpEventReason.LocalPrefIgnored,
        message: `spec.localPref: every peer it reaches (${reached.map((p) => p.name).join(', ')}) is eBGP, which carries no LOCAL_PREF`,
      });
    }
  }
  return {
    peers: peers.map(([peer]) => peer),
    advertisements: advertisements.map(([advertisement]) => advertisement),
    profiles: profiles.map(([profile]) => profile),
    warnings,
  };
}

function ref(kind: string, obj: KubernetesObject): { kind: string; name: string; uid: string | undefined } {
  return { kind, name: obj.metadata?.name ?? '', uid: obj.metadata?.uid };
}
