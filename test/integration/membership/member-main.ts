// One membership member in its own process, so a test can kill it with SIGKILL (no `leave`, as when a node dies):
//   node member-main.ts <name> <host> <seed-addr> <key, hex>
// Prints its `host:port` once listening.
import { startUdpMembership } from '../../../src/speaker/membership/udp.ts';

const [name, host, seed, keyHex] = process.argv.slice(2);
if (name === undefined || host === undefined || seed === undefined || keyHex === undefined) {
  throw new Error('usage: <name> <host> <seed> <key>');
}
const key = Buffer.from(keyHex, 'hex');
const member = await startUdpMembership({ name, host, port: 0, seeds: [seed], auth: { keys: () => ({ sign: key }) } });
process.stdout.write(`${member.addr}\n`);
