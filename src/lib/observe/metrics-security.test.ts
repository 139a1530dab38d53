import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { metricsSecurity, metricsSecurityOptions } from './metrics-security.ts';

function parse(args: string[]): Record<string, unknown> {
  const command = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  for (const option of metricsSecurityOptions(true)) command.addOption(option);
  return command.parse(args, { from: 'user' }).opts();
}

test('--metrics-secure takes Go-style booleans and refuses anything else', () => {
  assert.deepEqual(parse(['--metrics-secure=false']), { metricsSecure: false });
  assert.deepEqual(parse(['--metrics-secure', 'TRUE', '--metrics-cert-dir', '/tls']), {
    metricsSecure: true,
    metricsCertDir: '/tls',
  });
  assert.throws(() => parse(['--metrics-secure=yes']), /"yes" is not true or false/);
});

test('secure metrics get a certificate and an access check; insecure ones neither', async () => {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  assert.deepEqual(await metricsSecurity({ secure: false }, kubeConfig), {});
  const secure = await metricsSecurity({ secure: true }, kubeConfig);
  assert.match(secure.tls?.cert ?? '', /BEGIN CERTIFICATE/);
  assert.equal(typeof secure.authorize, 'function');
  await assert.rejects(metricsSecurity({ secure: true, certDir: '/nonexistent' }, kubeConfig), /ENOENT/);
});
