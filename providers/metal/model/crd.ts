// The AddressPool CustomResourceDefinition (and, through renderCrd, the BGP kinds' in bgp-crd.ts), rendered from the
// same zod schema the parser uses, so the apiserver's validation and ours cannot drift apart. scripts/gen-crds.ts
// writes them to deploy/crds/; crd.test.ts fails when a committed file differs from a fresh rendering.
import { z } from 'zod';
import {
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_KIND,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
  addressPoolSpecSchema,
} from './schema.ts';

/** Relative to the repository root. */
export const ADDRESS_POOL_CRD_FILE = crdFile(ADDRESS_POOL_PLURAL);

/** Where the CRD of `plural` is committed, relative to the repository root. */
export function crdFile(plural: string): string {
  return `deploy/crds/${plural}.${ADDRESS_POOL_GROUP}.yaml`;
}

type JsonSchema = { [keyword: string]: unknown };

/** The CRD as the apiserver sees it (plain JSON, wire field names). */
export function renderAddressPoolCrd(): object {
  return renderCrd({
    kind: ADDRESS_POOL_KIND,
    plural: ADDRESS_POOL_PLURAL,
    description: 'A pool of IP addresses the drawbridge metal provider assigns to LoadBalancer Services.',
    spec: addressPoolSpecSchema,
    specRequired: true,
    printerColumns: [
      { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses' },
      { name: 'AutoAssign', type: 'boolean', jsonPath: '.spec.autoAssign' },
      { name: 'AvoidBuggyIPs', type: 'boolean', jsonPath: '.spec.avoidBuggyIPs', priority: 1 },
      { name: 'L2', type: 'boolean', jsonPath: '.spec.l2', priority: 1 },
    ],
  });
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  description: string;
  spec: z.ZodType;
  /** Whether an object must carry a spec (one whose every field has a default need not). */
  specRequired: boolean;
  /** Age is added last to every kind. */
  printerColumns: { name: string; type: string; jsonPath: string; priority?: number }[];
}

/** A cluster-scoped drawbridge.io/v1alpha1 CRD whose spec schema is the zod schema's input side. */
export function renderCrd(definition: CrdDefinition): object {
  const spec = toStructuralSchema(z.toJSONSchema(definition.spec, { io: 'input', target: 'openapi-3.0' }));
  const { kind, plural } = definition;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${ADDRESS_POOL_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'drawbridge' },
    },
    spec: {
      group: ADDRESS_POOL_GROUP,
      scope: 'Cluster',
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        categories: ['drawbridge'],
      },
      versions: [
        {
          name: ADDRESS_POOL_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [
            ...definition.printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: definition.description,
              ...(definition.specRequired ? { required: ['spec'] } : {}),
              properties: {
                apiVersion: { type: 'string', description: 'The versioned schema of this representation.' },
                kind: { type: 'string', description: 'The REST resource this object represents.' },
                metadata: { type: 'object' },
                spec,
              },
            },
          },
        },
      ],
    },
  };
}

// Keywords a structural schema may carry. Anything else (a $ref, anyOf from a union, ...) must fail loudly here,
// not when the apiserver rejects the manifest at install time.
const STRUCTURAL_KEYWORDS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'default',
  'enum',
  'nullable',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'additionalProperties',
]);

/**
 * Turns zod's JSON Schema into a structural OpenAPI v3 schema the apiserver accepts: no `$schema`, no
 * `additionalProperties: false` (the apiserver prunes unknown fields anyway, and forbids it beside `properties`),
 * and `type: object` on everything with properties.
 */
export function toStructuralSchema(schema: JsonSchema, path = 'spec'): JsonSchema {
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === '$schema') continue;
    if (keyword === 'additionalProperties' && value === false) continue;
    if (!STRUCTURAL_KEYWORDS.has(keyword)) {
      throw new Error(
        `${path}: JSON Schema keyword "${keyword}" has no structural OpenAPI form; extend toStructuralSchema`,
      );
    }
    if (keyword === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [
          name,
          toStructuralSchema(child, `${path}.${name}`),
        ]),
      );
    } else if (keyword === 'items' || keyword === 'additionalProperties') {
      out[keyword] = toStructuralSchema(value as JsonSchema, `${path}[]`);
    } else {
      out[keyword] = value;
    }
  }
  if ('properties' in out) {
    if ('additionalProperties' in out)
      throw new Error(`${path}: properties and additionalProperties cannot be combined`);
    out.type = 'object';
  }
  if (!('type' in out)) throw new Error(`${path}: a structural schema needs a type`);
  return out;
}
