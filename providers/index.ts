// The provider registry: the ONE place that names providers. Each entry is a light definition (schema, flags,
// demo hooks); its `create` imports the heavy parts (cloud SDKs) only when that provider is chosen. Duplicate
// names fail when this module loads; unknown names fail at start-up with the list of known ones.

import type { ProviderDefinition } from '../src/contract/provider.ts';
import { aws } from './aws/index.ts';
import { fake } from './fake/index.ts';
import { gcp } from './gcp/index.ts';
import { metal } from './metal/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: each entry keeps its own Config/Options types; the core sees unknown.
const definitions: ProviderDefinition<any, any>[] = [metal, gcp, aws, fake];

const registry = new Map<string, ProviderDefinition>();
for (const definition of definitions) {
  if (registry.has(definition.name)) throw new Error(`provider "${definition.name}" is registered twice`);
  registry.set(definition.name, definition);
}

export const providerNames: readonly string[] = [...registry.keys()];

export class UnknownProviderError extends Error {}

export function providerDefinition(name: string): ProviderDefinition {
  const definition = registry.get(name);
  if (!definition) {
    throw new UnknownProviderError(`unknown provider "${name}"; available: ${providerNames.join(', ')}`);
  }
  return definition;
}

export function allProviderDefinitions(): readonly ProviderDefinition[] {
  return [...registry.values()];
}
