// The BGP lab's client request loop, run inside the client namespace (behind the router):
//   node bgp-requests-main.ts <address> <interval-ms> <timeout-ms>
// Opens a new connection to <address>:80 every <interval-ms> (each request, connect and answer, given <timeout-ms>),
// prints `started`, and on the stdin line `stop` (or the end of stdin) waits for the requests in flight and prints
// one JSON line, a RequestStats, then exits. A request fails when it is refused, times out or is not answered 200.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

export interface RequestStats {
  sent: number;
  failed: number;
  /** Answers per serving node (the body the node server answers with). */
  servedBy: Record<string, number>;
  /** The longest time between two consecutive answers (or from the start to the first, or the last to the stop). */
  longestGapMs: number;
  /** When that gap ended (epoch ms): the answer that closed it, or the stop. */
  longestGapEndAt: number;
  /** When the last failed request was sent (epoch ms), 0 if none failed. */
  lastFailedSentAt: number;
  /** When the first answer to a request sent after the last failed one arrived (epoch ms); 0 if none failed or
   *  none was answered after the last failure. */
  recoveredAt: number;
}

const [address, intervalArg, timeoutArg] = process.argv.slice(2);
if (address === undefined || intervalArg === undefined || timeoutArg === undefined) {
  throw new Error('usage: bgp-requests-main.ts <address> <interval-ms> <timeout-ms>');
}
const INTERVAL_MS = Number(intervalArg);
const TIMEOUT_MS = Number(timeoutArg);

/** One request: the serving node's name, or undefined on any failure. */
function request(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: address!, port: 80 });
    let body = '';
    const finish = (value: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), TIMEOUT_MS);
    socket.once('connect', () => socket.write(`GET / HTTP/1.0\r\nHost: ${address}\r\n\r\n`));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      body += chunk;
    });
    socket.once('end', () => {
      const [head = '', payload = ''] = body.split('\r\n\r\n');
      finish(/^HTTP\/1\.[01] 200/.test(head) ? payload.trim() : undefined);
    });
    socket.once('error', () => finish(undefined));
  });
}

const startedAt = Date.now();
const results: { sentAt: number; doneAt: number; node: string | undefined }[] = [];
const inFlight = new Set<Promise<void>>();
const timer = setInterval(() => {
  const sentAt = Date.now();
  const p = request().then((node) => {
    results.push({ sentAt, doneAt: Date.now(), node });
    inFlight.delete(p);
  });
  inFlight.add(p);
}, INTERVAL_MS);
process.stdout.write('started\n');

function summarise(stoppedAt: number): RequestStats {
  const answered = results.filter((r) => r.node !== undefined).sort((a, b) => a.doneAt - b.doneAt);
  const servedBy: Record<string, number> = {};
  for (const r of answered) servedBy[r.node!] = (servedBy[r.node!] ?? 0) + 1;
  let longestGapMs = 0;
  let longestGapEndAt = 0;
  let previous = startedAt;
  for (const at of [...answered.map((r) => r.doneAt), stoppedAt]) {
    if (at - previous > longestGapMs) {
      longestGapMs = at - previous;
      longestGapEndAt = at;
    }
    previous = at;
  }
  const failed = results.filter((r) => r.node === undefined);
  const lastFailedSentAt = Math.max(0, ...failed.map((r) => r.sentAt));
  const recovered = answered.filter((r) => r.sentAt > lastFailedSentAt).map((r) => r.doneAt);
  return {
    ...{ sent: results.length, failed: failed.length, servedBy, longestGapMs, longestGapEndAt, lastFailedSentAt },
    recoveredAt: failed.length === 0 || recovered.length === 0 ? 0 : Math.min(...recovered),
  };
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const stoppedAt = Date.now();
  clearInterval(timer);
  await Promise.all(inFlight);
  process.stdout.write(`${JSON.stringify(summarise(stoppedAt))}\n`);
  process.exit(0);
};
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'stop') void stop();
});
lines.on('close', () => void stop());
