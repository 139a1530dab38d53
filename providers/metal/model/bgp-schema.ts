// The BGPPeer, BGPAdvertisement and BFDProfile custom resources (drawbridge.io/v1alpha1, cluster-scoped): their zod
// schemas, which are also the CRDs' OpenAPI source (bgp-crd.ts), and parseBgpPeer / parseBgpAdvertisement /
// parseBfdProfile, which build the bgp-types.ts model or report every problem with its path. Field names are
// MetalLB's (metallb.io BGPPeer v1beta2, BGPAdvertisement and BFDProfile v1beta1) so that migrating is mostly a
// change of apiVersion; docs/migrate-from-metallb.md lists where they differ. What OpenAPI can express (ranges,
// enums, patterns) the apiserver refuses at admission; the rest (addresses, hold-time rules, communities) is checked
// here, and the controller turns a failed check into a Warning Event on the object.
import { z } from 'zod';
import { parseAddress } from '../../../src/lib/net/ip.ts';
import {
  BFD_PROFILE_KIND,
  type BfdProfile,
  BGP_ADVERTISEMENT_KIND,
  BGP_PEER_KIND,
  type BgpAdvertisement,
  type BgpPeer,
  DEFAULT_BFD_PROFILE,
} from './bgp-types.ts';
import { checkPeerSpec, communityProblem, durationSeconds, ipProblem, splitCommunities } from './bgp-values.ts';
import { ADDRESS_POOL_API_VERSION, isRecord } from './pool.ts';
import { formatPath, type Problem } from './schema.ts';

const U32_MAX = 4294967295;

const asn = z.int().min(1).max(U32_MAX);

const ipAddress = z.string().superRefine((text, ctx) => {
  const problem = ipProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Go duration text in whole seconds, as MetalLB writes hold times: "90s", "1m30s", "0s". */
const duration = z
  .string()
  .min(2)
  .regex(/^(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$/, 'must be a duration in whole seconds, such as "90s" or "1m30s"');

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

const labelSelector = z
  .strictObject({
    matchLabels: z.record(z.string(), z.string()).default({}),
    matchExpressions: z
      .array(
        z.strictObject({
          key: z.string().min(1),
          operator: z.enum(SELECTOR_OPERATORS),
          values: z.array(z.string()).default([]),
        }),
      )
      .default([]),
  })
  .describe('A Kubernetes label selector over Node labels; empty matches every node.');

export const bgpPeerSpecSchema = z
  .strictObject({
    myASN: asn.describe("The nodes' AS number."),
    peerASN: asn.describe("The router's AS number (equal to myASN: iBGP)."),
    peerAddress: ipAddress.describe("The router's address, IPv4 or IPv6."),
    peerPort: z.int().min(1).max(65535).default(179).describe('The TCP port to dial.'),
    sourceAddress: ipAddress
      .optional()
      .describe("The nodes' source address for the session, of the peer's family; absent: the route's."),
    routerID: ipAddress.optional().describe('The BGP router ID (an IPv4 address); absent: the node picks its own.'),
    holdTime: duration.optional().describe('The BGP hold time: 0s, or 3s to 65535s; absent: 90s.'),
    keepaliveTime: duration.optional().describe('The keepalive interval, below holdTime; absent: holdTime / 3.'),
    ebgpMultiHop: z.boolean().default(false).describe('The router is more than one hop away.'),
    passwordSecret: z
      .strictObject({
        name: z.string().min(1),
        key: z.string().min(1).default('password'),
      })
      .optional()
      .describe("TCP MD5 password: a Secret in the speaker's own namespace and its key (default: password)."),
    nodeSelectors: z
      .array(labelSelector)
      .default([])
      .describe('Which nodes peer with this router: those any selector matches; empty: every node.'),
    bfdProfile: z.string().min(1).optional().describe('The BFDProfile to run; absent: the built-in default.'),
    disableBFD: z.boolean().default(false).describe('Run no BFD with this peer.'),
  })
  .describe('A BGP router the speakers peer with.');

export const bgpAdvertisementSpecSchema = z
  .strictObject({
    ipAddressPools: z.array(z.string().min(1)).default([]).describe('AddressPool names; empty: every pool.'),
    peers: z.array(z.string().min(1)).default([]).describe('BGPPeer names; empty: every peer.'),
    communities: z
      .array(
        z.string().superRefine((text, ctx) => {
          const problem = communityProblem(text);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .default([])
      .describe('"65000:100", a well-known name (no-export, no-advertise, local-as, no-peer) or "large:1:2:3".'),
    localPref: z.int().min(0).max(U32_MAX).optional().describe('LOCAL_PREF (iBGP peers only).'),
    aggregationLength: z.int().min(0).max(32).default(32).describe('IPv4 prefix length to announce.'),
    aggregationLengthV6: z.int().min(0).max(128).default(128).describe('IPv6 prefix length to announce.'),
    nodeSelectors: z.array(labelSelector).default([]).describe('Which nodes announce; empty: every node.'),
  })
  .describe('Which pools are announced over BGP, to which peers, from which nodes, with which attributes.');

const interval = z.int().min(10).max(60000);

export const bfdProfileSpecSchema = z
  .strictObject({
    receiveInterval: interval
      .default(DEFAULT_BFD_PROFILE.receiveIntervalMs)
      .describe('Minimum interval between received BFD packets, ms.'),
    transmitInterval: interval
      .default(DEFAULT_BFD_PROFILE.transmitIntervalMs)
      .describe('Minimum interval between sent BFD packets, ms.'),
    detectMultiplier: z
      .int()
      .min(2)
      .max(255)
      .default(DEFAULT_BFD_PROFILE.detectMultiplier)
      .describe('Packets lost before the session is down.'),
    echoMode: z.boolean().default(DEFAULT_BFD_PROFILE.echoMode).describe('Use BFD echo packets.'),
    passiveMode: z.boolean().default(DEFAULT_BFD_PROFILE.passiveMode).describe('Wait for the peer to start.'),
    minimumTtl: z
      .int()
      .min(1)
      .max(254)
      .default(DEFAULT_BFD_PROFILE.minimumTtl)
      .describe('Lowest TTL accepted on multihop sessions.'),
  })
  .describe('BFD timers for the peers that name this profile.');

export type BgpParse<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

const resourceSchema = <S extends z.ZodType>(kind: string, spec: S) =>
  z.looseObject({
    apiVersion: z.literal(ADDRESS_POOL_API_VERSION),
    kind: z.literal(kind),
    metadata: z.looseObject({ name: z.string().min(1) }),
    spec,
  });

const peerResource = resourceSchema(BGP_PEER_KIND, bgpPeerSpecSchema);
const advertisementResource = resourceSchema(BGP_ADVERTISEMENT_KIND, bgpAdvertisementSpecSchema.prefault({}));
const bfdResource = resourceSchema(BFD_PROFILE_KIND, bfdProfileSpecSchema.prefault({}));

export function parseBgpPeer(obj: unknown): BgpParse<BgpPeer> {
  const result = peerResource.safeParse(obj);
  const problems = result.success ? [] : result.error.issues.flatMap(toProblems);
  // Checked even when other fields are wrong, so every problem is reported at once.
  problems.push(...checkPeerSpec(specOf(obj)));
  if (!result.success || problems.length > 0) return failed(problems);
  const { metadata, spec } = result.data;
  const holdTimeSeconds = spec.holdTime === undefined ? 90 : durationSeconds(spec.holdTime)!;
  return {
    ok: true,
    value: {
      name: metadata.name,
      peerAddress: canonical(spec.peerAddress),
      peerASN: spec.peerASN,
      myASN: spec.myASN,
      ...(spec.routerID === undefined ? {} : { routerID: spec.routerID }),
      ...(spec.sourceAddress === undefined ? {} : { sourceAddress: canonical(spec.sourceAddress) }),
      port: spec.peerPort,
      holdTimeSeconds,
      keepaliveTimeSeconds:
        spec.keepaliveTime === undefined ? Math.floor(holdTimeSeconds / 3) : durationSeconds(spec.keepaliveTime)!,
      ebgpMultiHop: spec.ebgpMultiHop,
      ...(spec.passwordSecret === undefined ? {} : { passwordSecret: spec.passwordSecret }),
      nodeSelectors: spec.nodeSelectors,
      ...(spec.bfdProfile === undefined ? {} : { bfdProfile: spec.bfdProfile }),
      disableBFD: spec.disableBFD,
    },
  };
}

export function parseBgpAdvertisement(obj: unknown): BgpParse<BgpAdvertisement> {
  const result = advertisementResource.safeParse(obj);
  if (!result.success) return failed(result.error.issues.flatMap(toProblems));
  const { metadata, spec } = result.data;
  const { communities, largeCommunities } = splitCommunities(spec.communities);
  return {
    ok: true,
    value: {
      name: metadata.name,
      addressPools: spec.ipAddressPools,
      peers: spec.peers,
      communities,
      largeCommunities,
      ...(spec.localPref === undefined ? {} : { localPref: spec.localPref }),
      aggregationLength: spec.aggregationLength,
      aggregationLengthV6: spec.aggregationLengthV6,
      nodeSelectors: spec.nodeSelectors,
    },
  };
}

export function parseBfdProfile(obj: unknown): BgpParse<BfdProfile> {
  const result = bfdResource.safeParse(obj);
  if (!result.success) return failed(result.error.issues.flatMap(toProblems));
  const { metadata, spec } = result.data;
  return {
    ok: true,
    value: {
      name: metadata.name,
      receiveIntervalMs: spec.receiveInterval,
      transmitIntervalMs: spec.transmitInterval,
      detectMultiplier: spec.detectMultiplier,
      echoMode: spec.echoMode,
      passiveMode: spec.passiveMode,
      minimumTtl: spec.minimumTtl,
    },
  };
}

function failed(problems: Problem[]): { ok: false; problems: Problem[] } {
  return { ok: false, problems: problems.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true })) };
}

function toProblems(issue: z.core.$ZodIssue): Problem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

function specOf(obj: unknown): Record<string, unknown> {
  return isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
}

function canonical(text: string): string {
  const parsed = parseAddress(text);
  return parsed.ok ? parsed.address : text;
}
