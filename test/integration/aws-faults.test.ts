// The aws provider under a hostile endpoint: a proxy in front of moto answers a share of requests with AWS's
// throttling errors (ELBv2 400 Throttling, EC2 503 RequestLimitExceeded) and with 500s, before they reach moto
// (as AWS throttles: nothing is done). Everything must still converge, nothing may be duplicated, failures must be
// classified as throttling/server errors, and the limiters must bound the request rate the endpoint sees.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import { peakRate, recordingProxy, startMoto } from '../support/moto.ts';
import { createNamespace, listServices, metricValue, startController, sumSamples } from './support.ts';

const CLUSTER = 'faults';
const NS = 'faults';
const SERVICES = 8;
// Small limits so that the bounds, not moto's speed, decide the rate: at most 1000/minTimeMs starts a second.
const LIMITERS = {
  elbv2Read: { maxConcurrent: 4, minTimeMs: 200 },
  elbv2Write: { maxConcurrent: 2, minTimeMs: 250 },
  ec2: { maxConcurrent: 2, minTimeMs: 250 },
};

process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
const moto = await startMoto(CLUSTER, ['node-a=10.0.0.10@a', 'node-b=10.0.1.10@b', 'node-c=10.0.0.11@a']);
const proxy = await recordingProxy(moto.endpoint, { faults: { throttle: 0.2, serverError: 0.05, seed: 8 } });
const elb = new ElasticLoadBalancingV2Client({ region: 'us-east-1', endpoint: moto.endpoint });
after(async () => {
  elb.destroy();
  await proxy.close();
  await moto.stop();
});

let controller: Controller | undefined;
const cluster = useControlPlane({
  setup: async (c) => {
    await createNamespace(c.core, NS);
    for (const [name, n] of Object.entries(moto.seed.nodes)) {
      await c.core.createNode({
        body: {
          metadata: { name },
          spec: { providerID: n.providerID },
          status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
        },
      });
    }
    controller = await startController(c.kubeConfig, {
      provider: 'aws',
      providerConfig: { region: 'us-east-1', endpoint: proxy.endpoint, limiters: LIMITERS },
      clusterName: CLUSTER,
      concurrency: 8,
      // DEBUG_LOG=info shows each failed reconcile and its classified error.
      logLevel: (process.env.DEBUG_LOG as 'info' | undefined) ?? 'silent',
    });
  },
  teardown: async () => controller?.stop(),
});

test('throttling and 5xx injected: every Service converges, once, within the limiter bounds', async () => {
  const core = cluster.core;
  for (let i = 0; i < SERVICES; i++) {
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: `svc-${i}` },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'drawbridge.io/aws',
          selector: { app: `svc-${i}` },
          ports: [
            { name: 'tcp', protocol: 'TCP', port: 80, targetPort: 80 },
            { name: 'udp', protocol: 'UDP', port: 81, targetPort: 81 },
          ],
        },
      },
    });
  }
  await eventually(
    'every Service to get its hostname',
    async () => {
      const services = await listServices(core, NS);
      return services.every((s) => s.status?.loadBalancer?.ingress?.[0]?.hostname) ? true : undefined;
    },
    120_000,
  );

  // Converged in moto: one NLB per Service (no duplicate from a retried create), two listeners, two groups with
  // all three nodes each. Reads here go to moto directly, past the faults.
  const full = await eventually(
    'every target group to hold all three nodes',
    async () => {
      const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
      const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
      if (lbs.length !== SERVICES || tgs.length !== 2 * SERVICES) return undefined;
      for (const g of tgs) {
        const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
        if (health.TargetHealthDescriptions?.length !== 3) return undefined;
      }
      return lbs;
    },
    60_000,
  );
  assert.equal(new Set(full.map((l) => l.LoadBalancerName)).size, SERVICES, 'no NLB created twice');
  for (const lb of full) {
    const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners;
    assert.deepEqual(listeners?.map((l) => `${l.Port}/${l.Protocol}`).sort(), ['80/TCP', '81/UDP']);
  }
  const hostnames = (await listServices(core, NS)).map((s) => s.status!.loadBalancer!.ingress![0]!.hostname);
  assert.deepEqual(hostnames.sort(), full.map((l) => l.DNSName!.toLowerCase()).sort());

  // Faults were really injected, and what got through to the controller was classified, never a bare failure.
  const faults = proxy.requests.filter((r) => r.fault);
  assert.ok(faults.filter((r) => r.fault === 'throttle').length > 20, 'throttles injected');
  assert.ok(faults.filter((r) => r.fault === '5xx').length > 5, '5xx injected');
  const text = await controller!.metrics.registry.metrics();
  const results = new Set(
    [...text.matchAll(/^drawbridge_provider_calls_total\{[^}]*result="([^"]+)"[^}]*\} (\S+)$/gm)]
      .filter((m) => Number(m[2]) > 0)
      .map((m) => m[1]),
  );
  results.delete('ok');
  assert.deepEqual(
    [...results].filter((r) => r !== 'AwsThrottled' && r !== 'AwsServerError'),
    [],
  );
  // Every Service reconciled at least once; throttles are absorbed by the provider's resends through its adaptive
  // limiter, so a faulted call rarely costs the whole reconcile (none may, in a run).
  assert.ok((await metricValue(controller!, 'drawbridge_reconcile_total')) >= SERVICES);
  assert.equal(sumSamples(text, 'drawbridge_queue_depth'), 0);

  // The limiters run inside the SDK's retry loop, so every attempt counts: in any 1 s window, at most
  // 1000/minTimeMs requests of a family reach the endpoint (+1 for a start and its arrival straddling the edge).
  for (const [family, { minTimeMs }] of Object.entries(LIMITERS)) {
    const peak = peakRate(proxy.requests, family as keyof typeof LIMITERS);
    const bound = 1000 / minTimeMs + 1;
    assert.ok(peak <= bound, `${family}: peak ${peak} requests/s, bound ${bound}`);
    assert.ok(peak >= bound / 2, `${family}: peak ${peak} requests/s; the test did not load the limiter`);
  }
});
