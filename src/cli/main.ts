#!/usr/bin/env node
// drawbridge: the command line. Each subcommand lives in its own file.
import { Command } from 'commander';
import { registerController } from './controller.ts';
import { registerDemo } from './demo.ts';
import { registerGc } from './gc.ts';
import { registerPlan } from './plan.ts';
import { registerSpeaker } from './speaker.ts';
import { registerStatus } from './status.ts';
import { registerVersion } from './version.ts';

const program = new Command()
  .name('drawbridge')
  .description('Load balancers for Kubernetes Services of type LoadBalancer: GCP, AWS and bare metal (ARP).')
  .showHelpAfterError()
  .enablePositionalOptions();

registerController(program);
registerDemo(program);
registerStatus(program);
registerPlan(program);
registerGc(program);
registerSpeaker(program);
registerVersion(program);

await program.parseAsync(process.argv);
