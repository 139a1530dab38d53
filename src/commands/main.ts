#!/usr/bin/env node
// drawbridge: the command line. Each subcommand lives in its own file.
//
// A command loads only its own module: the one-shot verbs (status, plan, gc, demo) use @kubernetes/client-node,
// whose import alone costs ~85 MB of RSS, and the long-running controller and speaker must not pay for it. So when
// the first argument names a command, only that one is registered; anything else (`--help`, a typo) registers all
// of them. test/integration/lean.test.ts keeps the controller and speaker free of client-node.
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

const program = new Command()
  .name('drawbridge')
  .description('Load balancers for Kubernetes Services of type LoadBalancer: GCP, AWS and bare metal (ARP).')
  .showHelpAfterError()
  .enablePositionalOptions();

const verb = process.argv[2];
const chosen = verb !== undefined && Object.hasOwn(commands, verb) ? [verb] : Object.keys(commands);
const registers = await Promise.all(chosen.map((name) => commands[name]!()));
for (const register of registers) await register(program);

await program.parseAsync(process.argv);
