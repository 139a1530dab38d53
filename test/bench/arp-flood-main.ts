// The failover benchmark's ARP load, run inside the lab's client namespace:
//   node arp-flood-main.ts <ifname> <sender-ip> <target-ip> <requests per second> <seconds>
// Sends broadcast ARP requests for <target-ip> at the given rate (paced against the clock in 10 ms steps) through the
// speaker's own packet-socket addon, then prints `sent <n>` and exits.
import { encodeArp } from '../../src/speaker/arp.ts';
import { BROADCAST_MAC, ZERO_MAC } from '../../src/speaker/ethernet.ts';
import { openPacketSocket } from '../../src/speaker/packet-socket.ts';

const [ifname, senderIp, targetIp, rateText, secondsText] = process.argv.slice(2);
if (ifname === undefined || senderIp === undefined || targetIp === undefined) {
  throw new Error('usage: arp-flood-main.ts <ifname> <sender-ip> <target-ip> <rate> <seconds>');
}
const rate = Number(rateText ?? 1000);
const seconds = Number(secondsText ?? 10);
const socket = openPacketSocket(ifname, 'arp', () => {});
const frame = encodeArp({
  ethernetDestination: BROADCAST_MAC,
  ethernetSource: socket.mac,
  operation: 'request',
  senderMac: socket.mac,
  senderIp,
  targetMac: ZERO_MAC,
  targetIp,
});
const startedAt = performance.now();
let sent = 0;
const timer = setInterval(() => {
  const elapsed = performance.now() - startedAt;
  const due = Math.min(rate * seconds, Math.floor((elapsed / 1000) * rate));
  for (; sent < due; sent++) {
    try {
      socket.send(frame);
    } catch {
      // EAGAIN under load: not sent; tried again on the next step.
      break;
    }
  }
  if (elapsed >= seconds * 1000) {
    clearInterval(timer);
    socket.close();
    process.stdout.write(`sent ${sent}\n`);
  }
}, 10);
