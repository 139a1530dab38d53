// The hostile-LAN lab's attacker, run inside a namespace on the LAN that is not a member:
//   node hostile-main.ts <mode> <JSON options>
// Every mode is bounded (a count and a time limit) and sends only to the lab addresses it is given. At the end it
// prints one JSON line: what it sent.
//   forge   {targets, names, key?}  update datagrams naming every member ineligible, dead and suspect at incarnation
//           2^53-1, five to each target: plain JSON (the unauthenticated format), sealed with a wrong key, and, when
//           `key` (hex) is given, sealed with the real key (a key holder sending from an address that is not the
//           sender's)
//   random  {targets, rate, seconds}  random bytes of random length, `rate` datagrams a second in all
//   replay  {pcap, ifname, times}  the Ethernet frames of a capture, sent again `times` times each with our own
//           source MAC (the IP source stays the member's): captured membership datagrams, replayed
//   frames  {ifname, seconds, max}  malformed and oversized ARP and NDP frames, as fast as the socket takes them
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { DatagramAuth } from '../../../src/speaker/membership/auth.ts';
import { encodeMessage } from '../../../src/speaker/membership/codec.ts';
import type { Message } from '../../../src/speaker/membership/types.ts';
import { canonicalAddr, parseAddr } from '../../../src/speaker/membership/udp.ts';
import { openPacketSocket } from '../../../src/speaker/packet-socket.ts';

const [mode, json = '{}'] = process.argv.slice(2);
const o = JSON.parse(json) as Record<string, unknown>;
const sent: Record<string, number> = {};
const count = (what: string, n = 1) => {
  sent[what] = (sent[what] ?? 0) + n;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function udp(targets: string[], each: (send: (bytes: Buffer, to: string) => void) => Promise<void>) {
  const socket = createSocket(parseAddr(targets[0]!).host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  let pending = 0;
  await each((bytes, to) => {
    const { host, port } = parseAddr(to);
    pending++;
    socket.send(bytes, port, host, () => pending--);
  });
  while (pending > 0) await sleep(5);
  socket.close();
}

if (mode === 'forge') {
  const targets = o.targets as string[];
  const names = o.names as string[];
  const forged = (state: 'alive' | 'suspect' | 'dead', eligible: boolean): Message => ({
    type: 'update',
    from: names[0]!,
    updates: names.map((name) => ({
      name,
      addr: `${parseAddr(targets[0]!).host}:7947`,
      state,
      incarnation: 2 ** 53 - 1,
      eligible,
      by: state === 'suspect' ? names[1] : undefined,
    })),
  });
  const messages = [forged('alive', false), forged('dead', false), forged('suspect', true)];
  const wrong = new DatagramAuth(names[0]!, () => ({ sign: randomBytes(32) }));
  const real =
    typeof o.key === 'string'
      ? new DatagramAuth(names[0]!, () => ({ sign: Buffer.from(o.key as string, 'hex') }))
      : undefined;
  await udp(targets, async (send) => {
    for (let i = 0; i < 5; i++) {
      for (const to of targets) {
        for (const message of messages) {
          const payload = encodeMessage(message);
          send(payload, to);
          count('plain');
          send(wrong.seal(payload, canonicalAddr(to)), to);
          count('wrong-key');
          if (real !== undefined) {
            send(real.seal(payload, canonicalAddr(to)), to);
            count('real-key-wrong-sender');
          }
        }
      }
      await sleep(20);
    }
  });
} else if (mode === 'random') {
  const targets = o.targets as string[];
  const rate = o.rate as number;
  const deadline = performance.now() + (o.seconds as number) * 1000;
  const total = Math.ceil((rate * (o.seconds as number)) / 1);
  await udp(targets, async (send) => {
    const started = performance.now();
    let n = 0;
    while (n < total && performance.now() < deadline) {
      // Paced: as many as are due by now, then yield to the event loop.
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; n < due; n++) send(randomBytes(1 + Math.floor(Math.random() * 1400)), targets[n % targets.length]!);
      await sleep(1);
    }
    count('random', n);
  });
} else if (mode === 'replay') {
  const socket = openPacketSocket(o.ifname as string, 'arp', () => {});
  const pcap = readFileSync(o.pcap as string);
  const frames: Buffer[] = [];
  // libpcap's file format: a 24-byte header, then per frame a 16-byte header whose third word is its captured length.
  for (let at = 24; at + 16 <= pcap.length; ) {
    const length = pcap.readUInt32LE(at + 8);
    frames.push(Buffer.from(pcap.subarray(at + 16, at + 16 + length)));
    at += 16 + length;
  }
  const mac = Buffer.from(socket.mac.split(':').map((h) => Number.parseInt(h, 16)));
  for (let time = 0; time < (o.times as number); time++) {
    for (const frame of frames) {
      mac.copy(frame, 6);
      // Captured on a veth, the UDP checksum is left for the hardware to fill in and is wrong on the wire; over IPv4,
      // zero means "no checksum", so the replay reaches the speaker's socket as the original did.
      if (frame.readUInt16BE(12) === 0x0800 && frame[23] === 17)
        frame.writeUInt16BE(0, 14 + (frame[14]! & 0x0f) * 4 + 6);
      try {
        socket.send(frame);
        count('replayed');
      } catch {
        count('send-error');
      }
    }
    await sleep(50);
  }
  socket.close();
} else if (mode === 'frames') {
  const socket = openPacketSocket(o.ifname as string, 'arp', () => {});
  const mac = Buffer.from(socket.mac.split(':').map((h) => Number.parseInt(h, 16)));
  const broadcast = Buffer.alloc(6, 0xff);
  const ethernet = (dst: Buffer, type: number, body: Buffer) => {
    const header = Buffer.alloc(14);
    dst.copy(header, 0);
    mac.copy(header, 6);
    header.writeUInt16BE(type, 12);
    return Buffer.concat([header, body]);
  };
  const arp = (tweak: (b: Buffer) => void, length = 28) => {
    const b = randomBytes(length);
    b.writeUInt16BE(1, 0);
    b.writeUInt16BE(0x0800, 2);
    b[4] = 6;
    b[5] = 4;
    b.writeUInt16BE(1, 6);
    tweak(b);
    return ethernet(broadcast, 0x0806, b);
  };
  const ipv6 = (body: Buffer, nextHeader = 58) => {
    const header = Buffer.alloc(40);
    header[0] = 0x60;
    header.writeUInt16BE(body.length, 4);
    header[6] = nextHeader;
    header[7] = 255;
    randomBytes(16).copy(header, 8);
    Buffer.from('ff0200000000000000000001ff000000', 'hex').copy(header, 24);
    return ethernet(Buffer.from('3333ff000000', 'hex'), 0x86dd, Buffer.concat([header, body]));
  };
  const kinds: Array<() => Buffer> = [
    () => arp(() => {}, 10), // truncated
    () => arp((b) => (b[4] = 255)), // hardware length that is not Ethernet's
    () => arp((b) => (b[5] = 16)), // protocol length that is not IPv4's
    () => arp((b) => b.writeUInt16BE(9, 6)), // an operation that does not exist
    () => arp(() => {}, 1486), // oversized: a full frame of junk after a valid start
    () => ipv6(Buffer.from([135, 0, 0, 0])), // a neighbor solicitation cut short
    () => ipv6(Buffer.concat([Buffer.from([135, 0, 0, 0, 0, 0, 0, 0]), randomBytes(16), Buffer.from([1, 0])])), // option of length 0
    () => ipv6(Buffer.concat([Buffer.from([136, 0, 0, 0]), randomBytes(1400)])), // oversized advertisement
    () => ipv6(randomBytes(64), 0), // a hop-by-hop header of junk
  ];
  const deadline = performance.now() + (o.seconds as number) * 1000;
  let n = 0;
  while (n < (o.max as number) && performance.now() < deadline) {
    for (let burst = 0; burst < 200; burst++, n++) {
      try {
        socket.send(kinds[n % kinds.length]!());
        count('frames');
      } catch {
        count('send-error');
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(sent)}\n`);
