// Installing the BGP CRDs and creating BGP objects: used by the tests and the lab, never by the controller itself
// (in a real cluster the CRDs come from deploy/crds/).
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { statusCodeOf } from '../../../src/lib/kube/api/errors.ts';
import { resourcePath } from '../../../src/lib/kube/api/paths.ts';
import { type KubeSource, kubeClientOf } from '../../../src/lib/kube/api/source.ts';
import { bgpCrds } from '../model/bgp-crd.ts';
import {
  BFD_PROFILE_KIND,
  BFD_PROFILE_PLURAL,
  BGP_ADVERTISEMENT_KIND,
  BGP_ADVERTISEMENT_PLURAL,
  BGP_PEER_KIND,
  BGP_PEER_PLURAL,
} from '../model/bgp-types.ts';
import { ADDRESS_POOL_API_VERSION, ADDRESS_POOL_GROUP, ADDRESS_POOL_VERSION } from '../model/schema.ts';

const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };

/** Creates the BGPPeer, BGPAdvertisement and BFDProfile CRDs (409 is fine) and waits until each is served. */
export async function installBgpCrds(kube: KubeSource): Promise<void> {
  const client = kubeClientOf(kube);
  for (const { crd } of bgpCrds()) {
    const name = (crd as V1CustomResourceDefinition).metadata?.name ?? '';
    await client.create(resourcePath(CRDS), crd).catch((e: unknown) => {
      if (statusCodeOf(e) !== 409) throw e;
    });
    await waitEstablished(kube, name);
  }
}

async function waitEstablished(kube: KubeSource, name: string): Promise<void> {
  const client = kubeClientOf(kube);
  for (let i = 0; i < 100; i++) {
    const current = await client.get<V1CustomResourceDefinition>(resourcePath({ ...CRDS, name }));
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`CRD ${name} did not become Established`);
}

const PLURAL_OF: Record<string, string> = {
  [BGP_PEER_KIND]: BGP_PEER_PLURAL,
  [BGP_ADVERTISEMENT_KIND]: BGP_ADVERTISEMENT_PLURAL,
  [BFD_PROFILE_KIND]: BFD_PROFILE_PLURAL,
};

/** Creates one BGPPeer, BGPAdvertisement or BFDProfile. */
export async function createBgpObject(
  kube: KubeSource,
  kind: typeof BGP_PEER_KIND | typeof BGP_ADVERTISEMENT_KIND | typeof BFD_PROFILE_KIND,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kubeClientOf(kube).create(
    resourcePath({ group: ADDRESS_POOL_GROUP, version: ADDRESS_POOL_VERSION, plural: PLURAL_OF[kind]! }),
    { apiVersion: ADDRESS_POOL_API_VERSION, kind, metadata: { name }, spec },
  );
}
