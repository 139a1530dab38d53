// A client that asks a Service address for a page every `intervalMs`, each on a new connection, inside the client
// namespace of a lab:   node poll-main.ts <ip> <intervalMs>
// At the end of stdin it prints one JSON line: requests, failures, the longest time between two answers, and which
// nodes answered (the node servers answer with their node's name).
import { get } from 'node:http';

const [ip, interval = '20'] = process.argv.slice(2);
if (ip === undefined) throw new Error('usage: poll-main.ts <ip> <intervalMs>');
const stats = { requests: 0, failures: 0, maxGapMs: 0, servedBy: {} as Record<string, number>, errors: [] as string[] };
let lastAnswer = performance.now();
let stopping = false;

const ask = () =>
  new Promise<void>((resolve) => {
    stats.requests++;
    const request = get({ host: ip, port: 80, path: '/', agent: false, timeout: 1000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => {
        const now = performance.now();
        stats.maxGapMs = Math.max(stats.maxGapMs, now - lastAnswer);
        lastAnswer = now;
        const node = body.trim();
        stats.servedBy[node] = (stats.servedBy[node] ?? 0) + 1;
        resolve();
      });
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error) => {
      stats.failures++;
      if (stats.errors.length < 10) stats.errors.push(error.message);
      resolve();
    });
  });

process.stdin.resume();
process.stdin.on('end', () => {
  stopping = true;
});
process.stdout.write('ready\n');
while (!stopping) {
  const started = performance.now();
  await ask();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(interval) - (performance.now() - started))));
}
process.stdout.write(`${JSON.stringify(stats)}\n`);
process.exit(0);
