// The soak's client, run inside the lab's client namespace:
//   node asker-main.ts <ifname> <sender-ip>
// Every second sends one broadcast ARP request for each address of the last `set <ip>,<ip>,...` line read from stdin
// (through the speaker's own packet-socket addon), so a capture on the LAN bridge sees who answers each request.
import { createInterface } from 'node:readline';
import { encodeArp } from '../../src/speaker/arp.ts';
import { BROADCAST_MAC, ZERO_MAC } from '../../src/speaker/ethernet.ts';
import { openPacketSocket } from '../../src/speaker/packet-socket.ts';

const [ifname, senderIp] = process.argv.slice(2);
if (ifname === undefined || senderIp === undefined) throw new Error('usage: asker-main.ts <ifname> <sender-ip>');
const socket = openPacketSocket(ifname, 'arp', () => {});
let targets: string[] = [];
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.startsWith('set ')) targets = line.slice(4).split(',').filter(Boolean);
  })
  .on('close', () => {
    clearInterval(timer);
    socket.close();
  });
const timer = setInterval(() => {
  for (const targetIp of targets) {
    const frame = encodeArp({
      ethernetDestination: BROADCAST_MAC,
      ethernetSource: socket.mac,
      operation: 'request',
      senderMac: socket.mac,
      senderIp,
      targetMac: ZERO_MAC,
      targetIp,
    });
    try {
      socket.send(frame);
    } catch {
      // EAGAIN under load: this address is asked again in a second.
    }
  }
}, 1000);
