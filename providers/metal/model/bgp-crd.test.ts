import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { bgpCrds } from './bgp-crd.ts';
import { allCrdFiles } from './crd-yaml.ts';

const root = join(import.meta.dirname, '../../..');

type Schema = { [keyword: string]: unknown };

function specSchema(crd: object): Schema {
  const versions = (crd as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } }).spec.versions;
  return (versions[0]!.schema.openAPIV3Schema.properties as Record<string, Schema>).spec!;
}

describe('BGP CRDs', () => {
  it('every committed CRD (deploy/crds and the chart) is the fresh rendering (run: node scripts/gen-crds.ts)', () => {
    const files = allCrdFiles();
    assert.deepEqual(
      files.map(({ file }) => basename(file)),
      [
        'addresspools.drawbridge.io.yaml',
        'bgppeers.drawbridge.io.yaml',
        'bgpadvertisements.drawbridge.io.yaml',
        'bfdprofiles.drawbridge.io.yaml',
      ],
    );
    for (const { file, yaml } of files) {
      assert.equal(readFileSync(join(root, file), 'utf8'), yaml, file);
      assert.equal(readFileSync(join(root, 'deploy/helm/drawbridge/crds', basename(file)), 'utf8'), yaml, file);
    }
  });

  it('the kustomization installs every CRD', () => {
    const kustomization = load(readFileSync(join(root, 'deploy/crds/kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    assert.deepEqual(
      [...kustomization.resources].sort(),
      allCrdFiles()
        .map(({ file }) => basename(file))
        .sort(),
    );
  });

  it('are cluster-scoped drawbridge.io/v1alpha1 kinds, like AddressPool', () => {
    for (const { crd } of bgpCrds()) {
      const spec = (crd as { spec: { group: string; scope: string; versions: { name: string }[] } }).spec;
      assert.deepEqual([spec.group, spec.scope, spec.versions[0]!.name], ['drawbridge.io', 'Cluster', 'v1alpha1']);
    }
  });

  it('puts the ranges OpenAPI can check into the schema, so admission refuses them', () => {
    const [peer, advertisement, bfd] = bgpCrds().map(({ crd }) => specSchema(crd).properties as Record<string, Schema>);
    assert.deepEqual([peer!.peerPort!.minimum, peer!.peerPort!.maximum, peer!.peerPort!.default], [1, 65535, 179]);
    assert.deepEqual([peer!.myASN!.minimum, peer!.myASN!.maximum], [1, 4294967295]);
    assert.equal(typeof peer!.holdTime!.pattern, 'string');
    assert.deepEqual(
      [advertisement!.aggregationLength!.maximum, advertisement!.aggregationLengthV6!.maximum],
      [32, 128],
    );
    assert.deepEqual([bfd!.receiveInterval!.minimum, bfd!.receiveInterval!.maximum], [10, 60000]);
    assert.deepEqual([bfd!.detectMultiplier!.minimum, bfd!.detectMultiplier!.maximum], [2, 255]);
  });

  it('requires the session fields of a peer and nothing of an advertisement or a profile', () => {
    const [peer, advertisement, bfd] = bgpCrds().map(({ crd }) => specSchema(crd));
    assert.deepEqual(peer!.required, ['myASN', 'peerASN', 'peerAddress']);
    assert.equal(advertisement!.required, undefined);
    assert.equal(bfd!.required, undefined);
  });
});
