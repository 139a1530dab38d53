// Installing the AddressPool CRD and creating pools: used by the demo and the tests, never by the controller
// itself (in a real cluster the CRD comes from deploy/crds/).
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { statusCodeOf } from '../../../src/lib/kube/api/errors.ts';
import { resourcePath } from '../../../src/lib/kube/api/paths.ts';
import { type KubeSource, kubeClientOf } from '../../../src/lib/kube/api/source.ts';
import { renderAddressPoolCrd } from '../model/crd.ts';
import {
  ADDRESS_POOL_API_VERSION,
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_KIND,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
} from '../model/schema.ts';

/**
 * Creates the CRD (409 is fine) and waits until the apiserver serves it. Rendered from the schema rather than read
 * from deploy/crds/ (crd.test.ts keeps the two equal), so a packaged, compiled Drawbridge needs no YAML beside it.
 */
const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };

export async function installAddressPoolCrd(kube: KubeSource): Promise<void> {
  const client = kubeClientOf(kube);
  const crd = renderAddressPoolCrd() as V1CustomResourceDefinition;
  const name = crd.metadata?.name ?? '';
  await client.create(resourcePath(CRDS), crd).catch((e: unknown) => {
    if (statusCodeOf(e) !== 409) throw e;
  });
  for (let i = 0; i < 100; i++) {
    const current = await client.get<V1CustomResourceDefinition>(resourcePath({ ...CRDS, name }));
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await sleep(100);
  }
  throw new Error(`CRD ${name} did not become Established`);
}

export async function createPool(
  kube: KubeSource,
  name: string,
  addresses: string[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  await kubeClientOf(kube).create(
    resourcePath({ group: ADDRESS_POOL_GROUP, version: ADDRESS_POOL_VERSION, plural: ADDRESS_POOL_PLURAL }),
    {
      apiVersion: ADDRESS_POOL_API_VERSION,
      kind: ADDRESS_POOL_KIND,
      metadata: { name },
      spec: { addresses, ...extra },
    },
  );
}
