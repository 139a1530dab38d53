// The test control plane is dual-stack: the apiserver creates LoadBalancer Services of each IP family and of both,
// and fills in spec.ipFamilies and spec.clusterIPs from its two service ranges, as a dual-stack cluster does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import ipaddr from 'ipaddr.js';
import { SERVICE_CLUSTER_IP_RANGES } from '../env/controlplane.ts';
import { useControlPlane } from '../env/harness.ts';
import { createNamespace, createService, lbService } from './support.ts';

const cluster = useControlPlane();
const namespace = 'dualstack';

/** The family whose service range holds `ip`, or a failure naming the address. */
function rangeFamilyOf(ip: string): 'IPv4' | 'IPv6' {
  for (const family of ['IPv4', 'IPv6'] as const) {
    const parsed = ipaddr.parse(ip);
    const range = ipaddr.parseCIDR(SERVICE_CLUSTER_IP_RANGES[family]);
    if (parsed.kind() === range[0].kind() && parsed.match(range)) return family;
  }
  assert.fail(`${ip} is in neither service range (${Object.values(SERVICE_CLUSTER_IP_RANGES).join(', ')})`);
}

async function create(name: string, spec: Partial<V1ServiceSpec>): Promise<V1ServiceSpec> {
  const created: V1Service = await createService(cluster.core, namespace, lbService(name, spec));
  assert.equal(created.spec?.type, 'LoadBalancer');
  return created.spec ?? {};
}

/** What the apiserver filled in: policy, families, and per ClusterIP the range it came from. */
function families(spec: V1ServiceSpec) {
  assert.equal(spec.clusterIP, spec.clusterIPs?.[0], 'clusterIP is the first of clusterIPs');
  return {
    ipFamilyPolicy: spec.ipFamilyPolicy,
    ipFamilies: spec.ipFamilies,
    clusterIPRanges: (spec.clusterIPs ?? []).map(rangeFamilyOf),
  };
}

test('LoadBalancer Services get IPv6-only, dual-stack and IPv4 ClusterIPs from the dual-stack ranges', async () => {
  await createNamespace(cluster.core, namespace);

  const v6 = await create('v6', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] });
  assert.deepEqual(families(v6), { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'], clusterIPRanges: ['IPv6'] });

  const prefer = await create('prefer', { ipFamilyPolicy: 'PreferDualStack' });
  assert.deepEqual(families(prefer), {
    ipFamilyPolicy: 'PreferDualStack',
    ipFamilies: ['IPv4', 'IPv6'],
    clusterIPRanges: ['IPv4', 'IPv6'],
  });

  const require6First = await create('require', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] });
  assert.deepEqual(families(require6First), {
    ipFamilyPolicy: 'RequireDualStack',
    ipFamilies: ['IPv6', 'IPv4'],
    clusterIPRanges: ['IPv6', 'IPv4'],
  });

  const v4 = await create('v4', {});
  assert.deepEqual(families(v4), { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIPRanges: ['IPv4'] });
  for (const spec of [v6, prefer, require6First, v4]) {
    const nodePort = spec.ports?.[0]?.nodePort ?? 0;
    assert.ok(nodePort >= 30000 && nodePort <= 32767, `nodePort ${nodePort} allocated for every family`);
  }
});
