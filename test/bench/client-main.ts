// The failover benchmark's client, run inside the lab's client namespace:
//   node client-main.ts <service-ip>
// Obeys one command per stdin line:
//   once            one HTTP request to <service-ip>:80; prints `served <node>` or `none`
//   watch <node>    opens a new connection every 10 ms (each with a 100 ms connect timeout and 500 ms for the answer,
//                   so a lost SYN never waits for TCP's 1 s retransmission) until one is answered by a node other
//                   than <node>; prints `served <node> <epoch ms when the answer arrived>`, or `timeout` after 15 s
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [ip] = process.argv.slice(2);
if (ip === undefined) throw new Error('usage: client-main.ts <service-ip>');
const CONNECT_TIMEOUT_MS = 100;
const ANSWER_TIMEOUT_MS = 500;
const POLL_MS = 10;

/** One request: the serving node's name, or undefined on any failure. */
function request(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip!, port: 80 });
    let body = '';
    let done = false;
    const finish = (value: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    let timer = setTimeout(() => finish(undefined), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(undefined), ANSWER_TIMEOUT_MS);
      socket.write(`GET / HTTP/1.0\r\nHost: ${ip}\r\n\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      body += chunk;
    });
    socket.once('end', () => {
      const [head = '', payload = ''] = body.split('\r\n\r\n');
      finish(head.startsWith('HTTP/1.1 200') || head.startsWith('HTTP/1.0 200') ? payload.trim() : undefined);
    });
    socket.once('error', () => finish(undefined));
  });
}

function watch(old: string): Promise<string> {
  return new Promise((resolve) => {
    const deadline = Date.now() + 15_000;
    let settled = false;
    const attempt = () => {
      if (settled) return;
      if (Date.now() > deadline) {
        settled = true;
        clearInterval(timer);
        return resolve('timeout');
      }
      void request().then((node) => {
        if (settled || node === undefined || node === old) return;
        const at = Date.now();
        settled = true;
        clearInterval(timer);
        resolve(`served ${node} ${at}`);
      });
    };
    const timer = setInterval(attempt, POLL_MS);
    attempt();
  });
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, arg] = line.trim().split(' ');
  if (command === 'once') {
    const node = await request();
    process.stdout.write(node === undefined ? 'none\n' : `served ${node}\n`);
  } else if (command === 'watch' && arg !== undefined) {
    process.stdout.write('watching\n');
    process.stdout.write(`${await watch(arg)}\n`);
  } else {
    process.stdout.write(`unknown ${line}\n`);
  }
}
process.exit(0);
