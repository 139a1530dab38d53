// The gcp provider against the GCE REST fake: the shared conformance suite, then GCP-specific behaviour.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type LoadBalancerSpec, TerminalError, ThrottledError } from '../../src/contract/provider.ts';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, providerConformance } from '../../test/conformance/suite.ts';
import { startGceFake } from '../../test/fakes/gce/server.ts';
import { GcpConfigSchema, gcp } from './index.ts';
import type { GcpOptions, GcpProvider } from './provider.ts';

const PROJECT = 'proj';
const ZONE = 'us-central1-a';
const fake = await startGceFake({ operationMs: 4 });
for (const n of ['node-a', 'node-b', 'node-c', 'node-d']) fake.seedInstance(PROJECT, ZONE, n);

async function newProvider(extra: Record<string, unknown> = {}): Promise<GcpProvider> {
  const config = GcpConfigSchema.parse({
    project: PROJECT,
    region: 'us-central1',
    zones: [ZONE],
    endpoint: fake.endpoint,
    ...extra,
  });
  return (await gcp.create(testContext('gcp').context, config)) as GcpProvider;
}

/** The conformance spec with gce:// providerIDs, as a GCE node has. */
function spec(n: number): LoadBalancerSpec<GcpOptions> {
  const s = baseSpec(n);
  return { ...s, nodes: s.nodes.map((node) => ({ ...node, providerID: `gce://${PROJECT}/${ZONE}/${node.name}` })) };
}
const live = () => ({ signal: new AbortController().signal });

const shared = await newProvider();
after(async () => {
  await shared.stop();
  await fake.close();
});

providerConformance('gcp', {
  provider: () => shared,
  spec,
  // One behaviour for mixed protocols: refused (TerminalError here, a checkService problem before).
  invalidSpec: () => {
    const s = spec(501);
    return { ...s, ports: [...s.ports, { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 }] };
  },
  resources: async () => {
    await fake.settled();
    return fake.compute.paths();
  },
});

describe('gcp provider', () => {
  test('builds the upstream layout: names, health check, firewalls, pool, rule with ownership', async () => {
    const s = { ...spec(20), sessionAffinity: 'ClientIP' as const, sourceRanges: ['10.0.0.0/8'] };
    const { status } = await shared.ensure(s, live());
    const lb = 'a00000000000040008000000000000020';
    const base = `projects/${PROJECT}`;
    const rule = fake.compute.peek(`${base}/regions/us-central1/forwardingRules/${lb}`)!;
    assert.equal(rule.IPAddress, status.ingress[0]?.ip);
    assert.equal(rule.portRange, '80-80');
    assert.equal(JSON.parse(String(rule.description))['kubernetes.io/service-name'], 'conf/svc-20');
    const pool = fake.compute.peek(`${base}/regions/us-central1/targetPools/${lb}`)!;
    assert.equal(pool.sessionAffinity, 'CLIENT_IP');
    assert.match(String((pool.healthChecks as string[])[0]), /httpHealthChecks\/k8s-conformance-node$/);
    const hc = fake.compute.peek(`${base}/global/httpHealthChecks/k8s-conformance-node`)!;
    assert.deepEqual([hc.port, hc.requestPath, hc.checkIntervalSec], [10256, '/healthz', 8]);
    const hcFw = fake.compute.peek(`${base}/global/firewalls/k8s-conformance-node-http-hc`)!;
    assert.deepEqual(hcFw.sourceRanges, ['130.211.0.0/22', '209.85.152.0/22', '209.85.204.0/22', '35.191.0.0/16']);
    const fw = fake.compute.peek(`${base}/global/firewalls/k8s-fw-${lb}`)!;
    assert.deepEqual(fw.sourceRanges, ['10.0.0.0/8']);
    assert.deepEqual(fw.destinationRanges, [status.ingress[0]?.ip]);
    assert.deepEqual(fw.allowed, [{ IPProtocol: 'tcp', ports: ['80'] }]);
    await shared.ensureDeleted(s.identity, live());
  });

  test('Local: its own health check on the healthCheckNodePort; a flip to Cluster removes it', async () => {
    const local = {
      ...spec(21),
      externalTrafficPolicy: 'Local' as const,
      healthCheck: { port: 31999, path: '/healthz' },
    };
    await shared.ensure(local, live());
    const lb = 'a00000000000040008000000000000021';
    assert.equal(fake.compute.peek(`projects/${PROJECT}/global/httpHealthChecks/${lb}`)?.port, 31999);
    const ip = (await shared.ensure(spec(21), live())).status.ingress[0]?.ip;
    assert.equal(fake.compute.peek(`projects/${PROJECT}/global/httpHealthChecks/${lb}`), undefined);
    assert.equal(fake.compute.peek(`projects/${PROJECT}/global/firewalls/k8s-${lb}-http-hc`), undefined);
    assert.equal((await shared.get(spec(21).identity, live()))?.status.ingress[0]?.ip, ip, 'the IP survived');
    await shared.ensureDeleted(spec(21).identity, live());
  });

  test('a port change recreates the rule and keeps its IP; a requested address is reserved and kept', async () => {
    const s = spec(22);
    const ip = (await shared.ensure(s, live())).status.ingress[0]?.ip;
    const moved = { ...s, ports: [{ name: 'https', protocol: 'TCP' as const, port: 443, nodePort: 30443 }] };
    assert.equal((await shared.ensure(moved, live())).status.ingress[0]?.ip, ip);
    const lb = 'a00000000000040008000000000000022';
    assert.equal(fake.compute.peek(`projects/${PROJECT}/regions/us-central1/addresses/${lb}`), undefined, 'released');
    const pinned = { ...moved, requestedAddresses: ['203.0.113.200'] };
    assert.equal((await shared.ensure(pinned, live())).status.ingress[0]?.ip, '203.0.113.200');
    const address = fake.compute.peek(`projects/${PROJECT}/regions/us-central1/addresses/${lb}`);
    assert.equal(address?.status, 'IN_USE');
    assert.equal((await shared.ensure(pinned, live())).changed, false);
    await shared.ensureDeleted(s.identity, live());
    assert.equal(fake.compute.peek(`projects/${PROJECT}/regions/us-central1/addresses/${lb}`), undefined);
  });

  test('errors: 403 rateLimitExceeded is ThrottledError, an unsupported Service is TerminalError', async () => {
    const p = await newProvider();
    try {
      fake.quotas.limits = { read: 0 }; // every read is over quota: 403 rateLimitExceeded
      await assert.rejects(p.get(spec(23).identity, live()), ThrottledError);
      fake.quotas.limits = {};
      const sctp = { ...spec(23), ports: [{ name: 's', protocol: 'SCTP' as const, port: 9, nodePort: 30009 }] };
      await assert.rejects(p.ensure(sctp, live()), TerminalError);
    } finally {
      fake.quotas.limits = {};
      await p.stop();
    }
  });

  test('checkService reports mixed protocols', () => {
    const check = shared.checkService({
      spec: {
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
    });
    assert.deepEqual(
      check.problems.map((p) => p.reason),
      ['MixedProtocolNotSupported'],
    );
  });

  test('a missing project or region names the field', () => {
    const result = GcpConfigSchema.safeParse({ region: 'us-central1' });
    assert.ok(!result.success);
    assert.deepEqual(
      result.error.issues.map((i) => i.path.join('.')),
      ['project'],
    );
    assert.match(result.error.issues[0]!.message, /required: project/);
  });
});
