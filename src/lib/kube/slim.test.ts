import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { slimNode, slimObject, transformWatchCallback } from './slim.ts';

const managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }];

test('slimObject drops managedFields and keeps what merge patches and the reconciler read', () => {
  const svc: V1Service = {
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '42',
      finalizers: ['service.kubernetes.io/load-balancer-cleanup'],
      annotations: { 'drawbridge.io/owner': 'x' },
      labels: { app: 'web' },
      managedFields,
    },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
  };
  const expected = structuredClone(svc);
  delete expected.metadata?.managedFields;
  assert.deepEqual(slimObject(svc), expected);
});

test('slimNode drops images and nodeInfo and keeps labels, spec, addresses and conditions', () => {
  const node: V1Node = {
    metadata: { name: 'n1', resourceVersion: '7', labels: { 'kubernetes.io/hostname': 'n1' }, managedFields },
    spec: { providerID: 'aws:///us-east-1a/i-1', taints: [{ key: 'k', effect: 'NoSchedule' }] },
    status: {
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
      conditions: [{ type: 'Ready', status: 'True' }],
      images: [{ names: ['registry.example/app@sha256:abc'], sizeBytes: 1 }],
      nodeInfo: {
        architecture: 'amd64',
        bootID: 'b',
        containerRuntimeVersion: 'c',
        kernelVersion: 'k',
        kubeProxyVersion: 'p',
        kubeletVersion: 'v',
        machineID: 'm',
        operatingSystem: 'linux',
        osImage: 'o',
        systemUUID: 's',
      },
    },
  };
  const slim = slimNode(structuredClone(node));
  assert.equal(slim.metadata?.managedFields, undefined);
  assert.equal(slim.status?.images, undefined);
  assert.equal(slim.status?.nodeInfo, undefined);
  assert.deepEqual(slim.metadata?.labels, node.metadata?.labels);
  assert.deepEqual(slim.spec, node.spec);
  assert.deepEqual(slim.status?.addresses, node.status?.addresses);
  assert.deepEqual(slim.status?.conditions, node.status?.conditions);
  assert.equal(slim.metadata?.resourceVersion, '7');
});

test('the watch wrapper transforms object events and passes BOOKMARK and ERROR untouched', () => {
  const seen: [string, unknown][] = [];
  const wrapped = transformWatchCallback(slimObject, (phase, obj) => seen.push([phase, obj]));
  for (const phase of ['ADDED', 'MODIFIED', 'DELETED']) wrapped(phase, { metadata: { name: 'a', managedFields } });
  const bookmark = { metadata: { resourceVersion: '9' } };
  const error = { code: 410, managedFields: 'not an object of the watched kind' };
  wrapped('BOOKMARK', bookmark);
  wrapped('ERROR', error);
  assert.deepEqual(seen.slice(0, 3), [
    ['ADDED', { metadata: { name: 'a' } }],
    ['MODIFIED', { metadata: { name: 'a' } }],
    ['DELETED', { metadata: { name: 'a' } }],
  ]);
  assert.equal(seen[3]?.[1], bookmark);
  assert.equal(seen[4]?.[1], error);
});
