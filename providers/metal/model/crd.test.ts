import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { ADDRESS_POOL_CRD_FILE, renderAddressPoolCrd, toStructuralSchema } from './crd.ts';
import { renderAddressPoolCrdYaml } from './crd-yaml.ts';

const committed = readFileSync(join(import.meta.dirname, '../../..', ADDRESS_POOL_CRD_FILE), 'utf8');

type Schema = { [keyword: string]: unknown };

function openApiSchema(crd: object): Schema {
  const versions = (crd as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } }).spec.versions;
  return versions[0]!.schema.openAPIV3Schema;
}

/** Every schema node, with its path. */
function* nodes(schema: Schema, path = ''): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    yield* nodes(child, `${path}.${name}`);
  }
  if (schema.items) yield* nodes(schema.items as Schema, `${path}[]`);
}

describe('AddressPool CRD', () => {
  it('the committed manifest is the fresh rendering of the schema (run: node scripts/gen-crds.ts)', () => {
    assert.equal(committed, renderAddressPoolCrdYaml());
    // The same comparison as objects, as the apiserver will read them.
    assert.deepEqual(load(committed), renderAddressPoolCrd());
  });

  it('keeps the defaults in the manifest', () => {
    assert.match(committed, /autoAssign:\n\s+default: true\n/);
    assert.match(committed, /avoidBuggyIPs:\n\s+default: false\n/);
  });

  it('is a structural schema the apiserver accepts', () => {
    for (const [path, node] of nodes(openApiSchema(renderAddressPoolCrd()))) {
      assert.ok(typeof node.type === 'string', `${path || '(root)'} has a type`);
      assert.ok(!('$schema' in node), `${path} has no $schema`);
      if ('properties' in node) {
        assert.equal(node.type, 'object', `${path} with properties is an object`);
        assert.ok(!('additionalProperties' in node), `${path} has no additionalProperties beside properties`);
      }
    }
  });

  it('requires addresses and leaves the defaulted fields optional', () => {
    const spec = (openApiSchema(renderAddressPoolCrd()).properties as Record<string, Schema>).spec!;
    assert.deepEqual(spec.required, ['addresses']);
  });

  it('refuses JSON Schema it cannot express structurally', () => {
    assert.throws(() => toStructuralSchema({ anyOf: [{ type: 'string' }, { type: 'number' }] }), /anyOf/);
    assert.throws(() =>
      toStructuralSchema({ type: 'object', properties: {}, additionalProperties: { type: 'string' } }),
    );
    assert.deepEqual(
      toStructuralSchema({ $schema: 'x', properties: { a: { type: 'string' } }, additionalProperties: false }),
      { properties: { a: { type: 'string' } }, type: 'object' },
    );
  });
});
