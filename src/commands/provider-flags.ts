// The provider options every verb that drives a provider accepts: --provider-config <file> and each provider's
// documented flags (--<provider>-<flag>), merged into the selected provider's section (flags win).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { allProviderDefinitions } from '../../providers/index.ts';
import type { ProviderFlag } from '../contract/provider.ts';
import { ConfigError } from '../core/controller/config.ts';
import { readProviderConfigFile } from './provider-config.ts';

export function num(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}

/** Registers --provider-config and every provider's flags on `command`. */
export function addProviderOptions(command: Command): Command {
  command.option(
    '--provider-config <file>',
    'YAML or JSON file with one section per provider (e.g. "metal: {poolSyncTimeoutSeconds: 60}"); flags win',
  );
  for (const definition of allProviderDefinitions()) {
    for (const flag of definition.flags ?? []) command.addOption(providerOption(definition.name, flag));
  }
  return command;
}

/** `--<provider>-<name>`, parsed by the flag's declared type. */
function providerOption(provider: string, flag: ProviderFlag): Option {
  const long = `--${provider}-${flag.name}`;
  const option = new Option(flag.type === 'boolean' ? long : `${long} <value>`, `[${provider}] ${flag.description}`);
  if (flag.type === 'number') option.argParser(num);
  if (flag.type === 'list')
    option.argParser((v: string) =>
      v
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    );
  return option;
}

/** Commander's camelCase key for a provider flag. */
function flagKey(provider: string, flag: ProviderFlag): string {
  return `${provider}-${flag.name}`.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The selected provider's options: its --provider-config section, its flags on top; other providers' flags are errors. */
export function providerConfigFrom(
  provider: string,
  flags: { providerConfig?: string; [key: string]: unknown },
): Record<string, unknown> {
  const problems: string[] = [];
  const fromFlags: Record<string, unknown> = {};
  for (const definition of allProviderDefinitions()) {
    for (const flag of definition.flags ?? []) {
      const value = flags[flagKey(definition.name, flag)];
      if (value === undefined) continue;
      if (definition.name !== provider) {
        problems.push(`--${definition.name}-${flag.name} applies to provider ${definition.name}, not ${provider}`);
      } else fromFlags[flag.field] = value;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const sections = flags.providerConfig ? readProviderConfigFile(flags.providerConfig) : {};
  return { ...(sections[provider] ?? {}), ...fromFlags };
}
