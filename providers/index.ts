// The provider registry: one table, name -> lazily imported factory. Heavy cloud SDKs load only when their
// provider is chosen. Duplicate names fail when this module loads; unknown names fail at start-up.
import type { Provider, ProviderContext, ProviderFactory } from './provider.ts';

const entries: [name: string, load: () => Promise<ProviderFactory>][] = [
  ['metal', async () => (await import('./metal/provider.ts')).createMetalProvider],
];

const registry = new Map<string, () => Promise<ProviderFactory>>();
for (const [name, load] of entries) {
  if (registry.has(name)) throw new Error(`provider "${name}" is registered twice`);
  registry.set(name, load);
}

export const providerNames: readonly string[] = [...registry.keys()];

export class UnknownProviderError extends Error {}

export async function createProvider(name: string, context: ProviderContext): Promise<Provider> {
  const load = registry.get(name);
  if (!load) throw new UnknownProviderError(`unknown provider "${name}"; available: ${providerNames.join(', ')}`);
  return (await load())(context);
}
