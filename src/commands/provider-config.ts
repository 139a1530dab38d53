// A provider's configuration: its section of --provider-config (YAML or JSON, one top-level section per provider)
// overlaid with its documented flags, validated by the provider's own schema. Every problem names its field.
import { readFileSync } from 'node:fs';
import { load as loadYaml } from 'js-yaml';
import { providerDefinition, providerNames } from '../../providers/index.ts';
import type { ProviderDefinition } from '../contract/provider.ts';
import { ConfigError, type ControllerConfig } from '../core/controller/config.ts';
import type { ProviderFactory } from '../core/controller/controller.ts';

/** Reads a --provider-config file: `{ <provider>: { ...options } }`. Unknown sections are errors. */
export function readProviderConfigFile(path: string): Record<string, Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`provider-config: cannot read ${path}: ${(error as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : loadYaml(text);
  } catch (error) {
    throw new ConfigError([`provider-config: ${path} is not valid YAML or JSON: ${(error as Error).message}`]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`provider-config: ${path} must be a mapping of provider name to its options`]);
  }
  const problems: string[] = [];
  const sections: Record<string, Record<string, unknown>> = {};
  for (const [name, section] of Object.entries(parsed)) {
    if (!providerNames.includes(name)) {
      problems.push(`provider-config: unknown provider section "${name}" (known: ${providerNames.join(', ')})`);
    } else if (section === null || section === undefined) {
      sections[name] = {};
    } else if (typeof section !== 'object' || Array.isArray(section)) {
      problems.push(`provider-config: ${name}: must be a mapping of options`);
    } else {
      sections[name] = section as Record<string, unknown>;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return sections;
}

/** Validates the provider's options (file section, then flags on top); returns them with defaults filled in. */
export function parseProviderConfig<C>(
  definition: ProviderDefinition<C>,
  section: Record<string, unknown> = {},
  flags: Record<string, unknown> = {},
): C {
  const result = definition.configSchema.safeParse({ ...section, ...flags });
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const field = [definition.name, ...issue.path.map(String)].join('.');
      const extra =
        issue.code === 'unrecognized_keys' ? ` (${issue.keys.map((k) => `${definition.name}.${k}`).join(', ')})` : '';
      return `provider-config ${field}: ${issue.message}${extra}`;
    }),
  );
}

/**
 * The provider the controller is handed: looked up in the registry and its configuration validated here, at the
 * composition root, so the core never names a provider. Throws ConfigError (every problem with its field) before
 * anything starts.
 */
export function providerFactory(config: Pick<ControllerConfig, 'provider' | 'providerConfig'>): ProviderFactory {
  const definition = providerDefinition(config.provider);
  const providerConfig = parseProviderConfig(definition, config.providerConfig);
  return (context) => definition.create(context, providerConfig);
}
