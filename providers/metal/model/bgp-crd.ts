// The BGPPeer, BGPAdvertisement and BFDProfile CustomResourceDefinitions, rendered from bgp-schema.ts's zod schemas
// (so admission refuses what OpenAPI can express: ranges, enums, duration patterns, unknown fields under kubectl's
// strict validation) and written to deploy/crds/ by scripts/gen-crds.ts.

import { bfdProfileSpecSchema, bgpAdvertisementSpecSchema, bgpPeerSpecSchema } from './bgp-schema.ts';
import {
  BFD_PROFILE_KIND,
  BFD_PROFILE_PLURAL,
  BGP_ADVERTISEMENT_KIND,
  BGP_ADVERTISEMENT_PLURAL,
  BGP_PEER_KIND,
  BGP_PEER_PLURAL,
} from './bgp-types.ts';
import { crdFile, renderCrd } from './crd.ts';

export const BGP_CRD_PLURALS = [BGP_PEER_PLURAL, BGP_ADVERTISEMENT_PLURAL, BFD_PROFILE_PLURAL] as const;

export function renderBgpPeerCrd(): object {
  return renderCrd({
    kind: BGP_PEER_KIND,
    plural: BGP_PEER_PLURAL,
    description: 'A BGP router the drawbridge speakers peer with, to announce Service addresses.',
    spec: bgpPeerSpecSchema,
    specRequired: true,
    printerColumns: [
      { name: 'Address', type: 'string', jsonPath: '.spec.peerAddress' },
      { name: 'ASN', type: 'integer', jsonPath: '.spec.peerASN' },
      { name: 'MyASN', type: 'integer', jsonPath: '.spec.myASN' },
      { name: 'BFD Profile', type: 'string', jsonPath: '.spec.bfdProfile', priority: 1 },
      { name: 'Multi Hops', type: 'boolean', jsonPath: '.spec.ebgpMultiHop', priority: 1 },
    ],
  });
}

export function renderBgpAdvertisementCrd(): object {
  return renderCrd({
    kind: BGP_ADVERTISEMENT_KIND,
    plural: BGP_ADVERTISEMENT_PLURAL,
    description: 'Which AddressPools the drawbridge speakers announce over BGP, to which peers, from which nodes.',
    spec: bgpAdvertisementSpecSchema,
    specRequired: false,
    printerColumns: [
      { name: 'IPAddressPools', type: 'string', jsonPath: '.spec.ipAddressPools' },
      { name: 'Peers', type: 'string', jsonPath: '.spec.peers' },
      { name: 'Node Selectors', type: 'string', jsonPath: '.spec.nodeSelectors', priority: 1 },
    ],
  });
}

export function renderBfdProfileCrd(): object {
  return renderCrd({
    kind: BFD_PROFILE_KIND,
    plural: BFD_PROFILE_PLURAL,
    description: 'BFD timers for the BGP sessions of the peers that name this profile.',
    spec: bfdProfileSpecSchema,
    specRequired: false,
    printerColumns: [
      { name: 'Receive Interval', type: 'integer', jsonPath: '.spec.receiveInterval' },
      { name: 'Transmit Interval', type: 'integer', jsonPath: '.spec.transmitInterval' },
      { name: 'Multiplier', type: 'integer', jsonPath: '.spec.detectMultiplier' },
      { name: 'Passive Mode', type: 'boolean', jsonPath: '.spec.passiveMode', priority: 1 },
    ],
  });
}

/** Each BGP CRD with the file it is committed to, relative to the repository root. */
export function bgpCrds(): { file: string; crd: object }[] {
  return [
    { file: crdFile(BGP_PEER_PLURAL), crd: renderBgpPeerCrd() },
    { file: crdFile(BGP_ADVERTISEMENT_PLURAL), crd: renderBgpAdvertisementCrd() },
    { file: crdFile(BFD_PROFILE_PLURAL), crd: renderBfdProfileCrd() },
  ];
}
