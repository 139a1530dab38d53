// Runs a speaker responder inside a node namespace for the e2e tests:
//   node responder-main.ts <ifname> [ip,ip,...]
// Answers for exactly the addresses it currently owns (initially the listed ones), prints one JSON line {"mac"} when
// ready, then obeys one command per stdin line, answering "ok <command>" to each:
//   own <ip>        start answering for <ip>
//   drop <ip>       stop answering for <ip>
//   announce <ip>   send one round of gratuitous ARP (request + reply) or an unsolicited neighbor advertisement
// On SIGTERM or end of stdin it prints its counters as one JSON line and exits.
import { createInterface } from 'node:readline';
import { startResponder } from '../../../src/speaker/responder.ts';

const [ifname, list = ''] = process.argv.slice(2);
if (ifname === undefined) throw new Error('usage: responder-main.ts <ifname> [ip,ip,...]');
const owned = new Set(list.split(',').filter((ip) => ip !== ''));
const responder = startResponder({ ifname, owns: (ip) => owned.has(ip) });
for (const ip of owned) responder.watch(ip);
process.stdout.write(`${JSON.stringify({ mac: responder.mac })}\n`);

let stopped = false;
const stop = () => {
  if (stopped) return;
  stopped = true;
  responder.close();
  process.stdout.write(`${JSON.stringify(responder.counters)}\n`);
  process.stdin.destroy();
};
process.on('SIGTERM', stop);
const commands = createInterface({ input: process.stdin });
commands.on('close', stop);
commands.on('line', (line) => {
  const [command, ip = ''] = line.trim().split(/\s+/);
  if (command === 'own') {
    owned.add(ip);
    responder.watch(ip);
  } else if (command === 'drop') {
    owned.delete(ip);
    responder.unwatch(ip);
  } else if (command === 'announce') {
    responder.announce(ip);
  } else {
    process.stdout.write(`error unknown command ${JSON.stringify(line)}\n`);
    return;
  }
  process.stdout.write(`ok ${line.trim()}\n`);
});
