#!/usr/bin/env node
// drawbridge: the command line. Each subcommand lives in its own file.
//
// A command loads only its own module, so a process pays only for what its verb uses (the speaker never loads the
// providers, zod or prom-client's index; only the demo, dev tooling, loads @kubernetes/client-node, whose import
// alone costs ~85 MB of RSS). So when the first argument names a command, only that one is registered; anything
// else (`--help`, a typo) registers all of them. test/integration/lean.test.ts checks that the controller, the
// speaker and the one-shot verbs never load client-node at run time.
//
// A verb that fails to start (a kubeconfig that cannot be used, a certificate directory that cannot be read) says
// so in one line on stderr and exits 1, never with a stack trace.
import { Command } from 'commander';

type Register = (program: Command) => void | Promise<void>;

/** In the order `drawbridge --help` lists them. */
const commands: Record<string, () => Promise<Register>> = {
  controller: async () => (await import('./controller.ts')).registerController,
  demo: async () => (await import('./demo-entry.ts')).registerDemoEntry,
  status: async () => (await import('./status.ts')).registerStatus,
  plan: async () => (await import('./plan.ts')).registerPlan,
  gc: async () => (await import('./gc.ts')).registerGc,
  speaker: async () => (await import('./speaker.ts')).registerSpeaker,
  'speaker-key': async () => (await import('./speaker-key.ts')).registerSpeakerKey,
  version: async () => (await import('./version.ts')).registerVersion,
};

// `--version` is the `version` verb under the name every CLI answers to; rewritten here so that computing the
// version (a git call from a checkout) is paid only when asked for.
if (process.argv[2] === '--version' || process.argv[2] === '-V') process.argv[2] = 'version';
const verb = process.argv[2];
const chosen = verb !== undefined && Object.hasOwn(commands, verb) ? [verb] : Object.keys(commands);

const program = new Command()
  .name('drawbridge')
  .description('Load balancers for Kubernetes Services of type LoadBalancer: GCP, AWS and bare metal (ARP).')
  .option('-V, --version', 'print the version and commit (the same as `drawbridge version`)')
  // A usage error is one line and where to read more, not the whole help (subcommands inherit this).
  .showHelpAfterError(`(run 'drawbridge${chosen.length === 1 ? ` ${verb}` : ''} --help' for usage)`)
  .enablePositionalOptions();

const registers = await Promise.all(chosen.map((name) => commands[name]!()));
for (const register of registers) await register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`drawbridge${chosen.length === 1 ? ` ${verb}` : ''}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}
