// What every aws integration file through the controller starts: moto (seeded with three instances in two zones)
// behind a recording proxy, SDK clients straight to moto (their reads never count as the controller's), the control
// plane with the test's namespace and nodes node-a and node-b, and the controller with the aws provider against the
// proxy, its limiters loose (every Service is resynced every 2 s here; aws-faults.test.ts tests the limits) and a
// 2 s resync (drift is repaired soon; a converged resync costs no write). Call once, at the top of a test file.
import { after } from 'node:test';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Controller } from '../../src/core/controller/controller.ts';
import { useControlPlane } from '../env/harness.ts';
import { recordingProxy, startMoto } from '../support/moto.ts';
import { createNamespace, startController } from './support.ts';

export async function awsRig(clusterName: string, namespace: string) {
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  const moto = await startMoto(clusterName, ['node-a=10.0.0.10@a', 'node-b=10.0.1.10@b', 'node-c=10.0.0.11@a']);
  const proxy = await recordingProxy(moto.endpoint);
  const elb = new ElasticLoadBalancingV2Client({ region: 'us-east-1', endpoint: moto.endpoint });
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint });
  after(async () => {
    elb.destroy();
    ec2.destroy();
    await proxy.close();
    await moto.stop();
  });

  /** A Node for one of moto's seeded instances (its providerID and InternalIP). */
  const addNode = async (core: CoreV1Api, name: string): Promise<void> => {
    const seeded = moto.seed.nodes[name]!;
    await core.createNode({
      body: {
        metadata: { name },
        spec: { providerID: seeded.providerID },
        status: { addresses: [{ type: 'InternalIP', address: seeded.ip }] },
      },
    });
  };

  let controller: Controller | undefined;
  const cluster = useControlPlane({
    setup: async (c) => {
      await createNamespace(c.core, namespace);
      await addNode(c.core, 'node-a');
      await addNode(c.core, 'node-b');
      controller = await startController(c.kubeConfig, {
        provider: 'aws',
        providerConfig: {
          region: 'us-east-1',
          endpoint: proxy.endpoint,
          limiters: { elbv2Read: { minTimeMs: 0 }, elbv2Write: { minTimeMs: 0 }, ec2: { minTimeMs: 0 } },
        },
        clusterName,
        resyncSeconds: 2,
      });
    },
    teardown: async () => controller?.stop(),
  });
  return { moto, proxy, elb, ec2, cluster, addNode, controller: () => controller! };
}
