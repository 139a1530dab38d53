// One demo Node's workload, run inside its network namespace by the metal demo's lab (lab.ts):
//   node node-main.ts <node-name> <node-ip>
// - a web server on <node-ip>:8080 answering every request with `served by <node-name>`: the Service's backend, which
//   the lab's kube-proxy-like DNAT rule sends the Service address's port 80 to, so the client sees which node served;
// - a kube-proxy stand-in on :10256/healthz, which the controller probes on the node's address and the node's speaker
//   on 127.0.0.1.
// Prints `ready` once both listen; exits at the end of stdin (the demo died) or on SIGTERM.
import { once } from 'node:events';
import { createServer } from 'node:http';

const [node, ip] = process.argv.slice(2);
if (node === undefined || ip === undefined) throw new Error('usage: node-main.ts <node-name> <node-ip>');

const web = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  response.end(`served by ${node}\n`);
});
const health = createServer((request, response) => {
  const ok = request.url === '/healthz';
  response.writeHead(ok ? 200 : 404, { 'content-type': 'application/json', connection: 'close' });
  response.end(JSON.stringify({ lastUpdated: new Date().toISOString(), currentTime: new Date().toISOString() }));
});
web.listen(8080, ip);
health.listen(10256);
await Promise.all([once(web, 'listening'), once(health, 'listening')]);
process.stdout.write('ready\n');

const stop = () => process.exit(0);
process.stdin.on('end', stop).resume();
process.once('SIGTERM', stop);
