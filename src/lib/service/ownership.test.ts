import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { LOAD_BALANCER_CLEANUP_FINALIZER, OWNER_CLASS_ANNOTATION, RELEASE_ANNOTATION } from './annotations.ts';
import { announcedBy, decideOwnership, wantsLoadBalancer } from './ownership.ts';

const METAL = 'drawbridge.io/metal';
const ours = { loadBalancerClass: METAL, ownClassless: false };

function service(
  options: {
    cls?: string;
    type?: string;
    finalizer?: boolean;
    owner?: string;
    deleting?: boolean;
    release?: boolean;
  } = {},
): V1Service {
  const annotations: Record<string, string> = {};
  if (options.owner !== undefined) annotations[OWNER_CLASS_ANNOTATION] = options.owner;
  if (options.release) annotations[RELEASE_ANNOTATION] = 'true';
  return {
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      annotations,
      finalizers: options.finalizer ? [LOAD_BALANCER_CLEANUP_FINALIZER] : [],
      ...(options.deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}),
    },
    spec: {
      type: options.type ?? 'LoadBalancer',
      ...(options.cls !== undefined ? { loadBalancerClass: options.cls } : {}),
    },
  };
}

describe('wantsLoadBalancer', () => {
  test('takes LoadBalancer Services of our class only', () => {
    assert.equal(wantsLoadBalancer(service({ cls: METAL }), ours), true);
    assert.equal(wantsLoadBalancer(service({ cls: 'drawbridge.io/aws' }), ours), false);
    assert.equal(wantsLoadBalancer(service({ cls: METAL, type: 'NodePort' }), ours), false);
  });

  test('takes class-less Services only when told to', () => {
    assert.equal(wantsLoadBalancer(service(), ours), false);
    assert.equal(wantsLoadBalancer(service(), { ...ours, ownClassless: true }), true);
  });

  test('a Service being deleted goes to cleanup instead', () => {
    assert.equal(wantsLoadBalancer(service({ cls: METAL, deleting: true }), ours), false);
  });
});

describe('decideOwnership', () => {
  test('serves what it wants, ignores what is not its own', () => {
    assert.equal(decideOwnership(service({ cls: METAL }), ours), 'serve');
    assert.equal(decideOwnership(service({ cls: 'other.example/lb' }), ours), 'ignore');
    assert.equal(
      decideOwnership(service({ cls: 'other.example/lb', finalizer: true, owner: 'other.example/lb' }), ours),
      'ignore',
    );
  });

  test('cleans up what carries its finalizer and is going away, or changed type or class', () => {
    const mine = { finalizer: true, owner: METAL };
    assert.equal(decideOwnership(service({ ...mine, cls: METAL, deleting: true }), ours), 'cleanUp');
    assert.equal(decideOwnership(service({ ...mine, cls: METAL, type: 'ClusterIP' }), ours), 'cleanUp');
    assert.equal(decideOwnership(service({ ...mine, cls: 'other.example/lb' }), ours), 'cleanUp');
  });

  test('keeps a class-less Service it served when run without ownClassless, until released', () => {
    assert.equal(decideOwnership(service({ finalizer: true, owner: METAL }), ours), 'retain');
    assert.equal(decideOwnership(service({ finalizer: true, owner: METAL, release: true }), ours), 'cleanUp');
  });

  test('without the owner annotation, the class decides whose finalizer it is', () => {
    assert.equal(decideOwnership(service({ finalizer: true, cls: METAL, type: 'NodePort' }), ours), 'cleanUp');
    assert.equal(decideOwnership(service({ finalizer: true, type: 'NodePort' }), ours), 'ignore');
    assert.equal(
      decideOwnership(service({ finalizer: true, type: 'NodePort' }), { ...ours, ownClassless: true }),
      'cleanUp',
    );
  });
});

describe('announcedBy (the speaker)', () => {
  test('announces what the controller of its class marked as served, class-less ones included', () => {
    assert.equal(announcedBy(service({ cls: METAL, owner: METAL }), METAL), true);
    assert.equal(announcedBy(service({ owner: METAL }), METAL), true);
    assert.equal(announcedBy(service({ cls: 'lab.example/l2', owner: 'lab.example/l2' }), 'lab.example/l2'), true);
  });

  test('announces nothing unmarked, of another class, or no longer a LoadBalancer', () => {
    assert.equal(announcedBy(service(), METAL), false);
    assert.equal(announcedBy(service({ cls: METAL }), METAL), false);
    assert.equal(announcedBy(service({ cls: 'other.example/lb', owner: METAL }), METAL), false);
    assert.equal(announcedBy(service({ owner: METAL }), 'lab.example/l2'), false);
    assert.equal(announcedBy(service({ owner: METAL, type: 'NodePort' }), METAL), false);
  });

  test('keeps announcing a Service being deleted until the controller takes its mark off', () => {
    assert.equal(announcedBy(service({ cls: METAL, owner: METAL, finalizer: true, deleting: true }), METAL), true);
  });
});
