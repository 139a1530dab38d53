// One membership member in its own process, so a test can kill it with SIGKILL (no `leave`, as when a node dies):
//   node member-main.ts <name> <host> <seed-addr>
// Prints its `host:port` once listening.
import { startUdpMembership } from '../../../src/speaker/membership/udp.ts';

const [name, host, seed] = process.argv.slice(2);
if (name === undefined || host === undefined || seed === undefined) throw new Error('usage: <name> <host> <seed>');
const member = await startUdpMembership({ name, host, port: 0, seeds: [seed] });
process.stdout.write(`${member.addr}\n`);
