#!/usr/bin/env node
// drawbridge: the command line. Each subcommand lives in its own file.
import { Command } from 'commander';
import { registerController } from './controller.ts';
import { registerDemo } from './demo.ts';
import { registerSpeaker } from './speaker.ts';

const program = new Command()
  .name('drawbridge')
  .description('Load balancers for Kubernetes Services of type LoadBalancer: GCP, AWS and bare metal (ARP).')
  .showHelpAfterError()
  .enablePositionalOptions();

registerController(program);
registerDemo(program);
registerSpeaker(program);

await program.parseAsync(process.argv);
