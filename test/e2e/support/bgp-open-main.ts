// A would-be BGP peer's first words, run inside a lab namespace: connects to <address>:179, sends an OPEN (AS <asn>,
// hold time 90 s, BGP identifier <id>, no optional parameters) and prints, as one JSON line, what happened within
// <ms> (default 3000): whether TCP connected, the type of every BGP message the node sent back (1 OPEN, 3
// NOTIFICATION, 4 KEEPALIVE), and whether the node closed the connection.
//   node bgp-open-main.ts <address> <asn> <id> [ms]
import { connect } from 'node:net';

const [address, asn, id, ms = '3000'] = process.argv.slice(2);
if (address === undefined || asn === undefined || id === undefined) {
  console.error('usage: bgp-open-main.ts <address> <asn> <id> [ms]');
  process.exit(2);
}

// RFC 4271 4.2: the 16-byte marker, length, type 1, version 4, my AS, hold time, BGP identifier, 0 parameter bytes.
const open = Buffer.alloc(29);
open.fill(0xff, 0, 16);
open.writeUInt16BE(29, 16);
open[18] = 1;
open[19] = 4;
open.writeUInt16BE(Number(asn), 20);
open.writeUInt16BE(90, 22);
id.split('.').forEach((octet, i) => {
  open[24 + i] = Number(octet);
});

const result = { connected: false, closed: false, messages: [] as number[], error: '' };
let pending = Buffer.alloc(0);
const socket = connect({ host: address, port: 179 });
const finish = () => {
  clearTimeout(timer);
  socket.destroy();
  console.log(JSON.stringify(result));
  process.exit(0);
};
const timer = setTimeout(finish, Number(ms));
socket.on('connect', () => {
  result.connected = true;
  socket.write(open);
});
socket.on('data', (chunk: Buffer) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 19 && pending.length >= pending.readUInt16BE(16)) {
    result.messages.push(pending[18]!);
    pending = pending.subarray(pending.readUInt16BE(16));
  }
});
socket.on('error', (error: NodeJS.ErrnoException) => {
  result.error = error.code ?? error.message;
});
socket.on('close', () => {
  result.closed = true;
  finish();
});
