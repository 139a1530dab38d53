// Installing the AddressPool CRD and creating pools: used by the demo and the tests, never by the controller
// itself (in a real cluster the CRD comes from deploy/crds/).
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { renderAddressPoolCrd } from './crd.ts';
import {
  ADDRESS_POOL_API_VERSION,
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_KIND,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
} from './schema.ts';

/**
 * Creates the CRD (409 is fine) and waits until the apiserver serves it. Rendered from the schema rather than read
 * from deploy/crds/ (crd.test.ts keeps the two equal), so a packaged, compiled Drawbridge needs no YAML beside it.
 */
export async function installAddressPoolCrd(kubeConfig: KubeConfig): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const crd = renderAddressPoolCrd() as V1CustomResourceDefinition;
  const name = crd.metadata?.name ?? '';
  await api.createCustomResourceDefinition({ body: crd }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  for (let i = 0; i < 100; i++) {
    const current = await api.readCustomResourceDefinition({ name });
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} did not become Established`);
}

export async function createPool(
  kubeConfig: KubeConfig,
  name: string,
  addresses: string[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  await kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: ADDRESS_POOL_GROUP,
    version: ADDRESS_POOL_VERSION,
    plural: ADDRESS_POOL_PLURAL,
    body: {
      apiVersion: ADDRESS_POOL_API_VERSION,
      kind: ADDRESS_POOL_KIND,
      metadata: { name },
      spec: { addresses, ...extra },
    },
  });
}
