import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { fake } from '../../providers/fake/index.ts';
import { metal } from '../../providers/metal/index.ts';
import { testContext } from '../../test/conformance/context.ts';
import { MissingCapabilityError, requireCapability } from './provider.ts';

test('requireCapability hands out a declared optional operation and names a missing one', async () => {
  const withAll = await fake.create(testContext('fake').context, fake.configSchema.parse({}));
  const plan = requireCapability(withAll, 'plan');
  assert.equal(typeof plan, 'function');
  // metal declares get and plan but not updateHosts (node changes never change an address).
  // A kubeconfig that is never contacted: the provider is only constructed, not started.
  const unused = new KubeConfig();
  unused.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:9' }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });
  const metalProvider = await metal.create(testContext('metal', unused).context, metal.configSchema.parse({}));
  assert.throws(
    () => requireCapability(metalProvider, 'updateHosts'),
    (e: unknown) =>
      e instanceof MissingCapabilityError && /provider "metal" does not support "updateHosts"/.test(e.message),
  );
});
