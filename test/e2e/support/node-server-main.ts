// What a node runs besides the speaker in the e2e lab and the failover benchmark, inside its namespace:
//   node node-server-main.ts <node-name> <node-ip> [<node-ipv6>]
// - a web server on <node-ip>:8080 (and [<node-ipv6>]:8080) answering every request with `<node-name>\n` (the Service's backend: the lab's
//   kube-proxy-like DNAT rule sends the Service address's port 80 here), so a client can tell which node served it;
// - a kube-proxy stand-in health endpoint on 127.0.0.1:10256/healthz: 200 while healthy, 503 while not.
// Prints `ready` once both listen, then obeys one command per stdin line, answering `ok <command>`:
//   healthy | unhealthy   what /healthz answers from now on
// Exits at the end of stdin (its parent died) or on SIGTERM.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';

const [node, ip, ip6] = process.argv.slice(2);
if (node === undefined || ip === undefined) {
  throw new Error('usage: node-server-main.ts <node-name> <node-ip> [<node-ipv6>]');
}
let healthy = true;

const serve = (_request: IncomingMessage, response: ServerResponse) => {
  response.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  response.end(`${node}\n`);
};
const web = createServer(serve);
const web6 = createServer(serve);
const health = createServer((request, response) => {
  const ok = request.url === '/healthz' && healthy;
  response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain', connection: 'close' });
  response.end(ok ? 'ok\n' : 'unhealthy\n');
});
await Promise.all([
  new Promise<void>((resolve) => web.listen(8080, ip, resolve)),
  ...(ip6 === undefined ? [] : [new Promise<void>((resolve) => web6.listen(8080, ip6, resolve))]),
  new Promise<void>((resolve) => health.listen(10256, '127.0.0.1', resolve)),
]);
process.stdout.write('ready\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = line.trim();
  if (command === 'healthy' || command === 'unhealthy') healthy = command === 'healthy';
  else return void process.stdout.write(`unknown ${command}\n`);
  process.stdout.write(`ok ${command}\n`);
});
const stop = () => {
  web.close();
  web6.close();
  health.close();
  process.exit(0);
};
lines.on('close', stop);
process.once('SIGTERM', stop);
