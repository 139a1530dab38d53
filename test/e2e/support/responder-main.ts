// Runs a speaker responder inside a node namespace for the e2e tests: `node responder-main.ts <ifname> <ip,ip,...>`.
// Answers for exactly the listed addresses, prints one JSON line {"mac"} when ready, and on SIGTERM prints its
// counters as one JSON line and exits.
import { startResponder } from '../../../providers/metal/speaker/responder.ts';

const [ifname, list] = process.argv.slice(2);
if (ifname === undefined || list === undefined) throw new Error('usage: responder-main.ts <ifname> <ip,ip,...>');
const owned = new Set(list.split(','));
const responder = startResponder({ ifname, owns: (ip) => owned.has(ip) });
for (const ip of owned) responder.watch(ip);
process.stdout.write(`${JSON.stringify({ mac: responder.mac })}\n`);
process.on('SIGTERM', () => {
  responder.close();
  process.stdout.write(`${JSON.stringify(responder.counters)}\n`);
});
