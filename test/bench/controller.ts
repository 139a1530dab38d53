// The controller under test as its own process (`bin/drawbridge.js controller`), started the way a user starts it,
// so /proc shows its memory and CPU alone: not the bench's, not the control plane's.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from '../env/harness.ts';
import { queueIdleIn, sumSamples } from '../integration/support.ts';
import { type Entry, entryEnv } from './entry.ts';
import { cpuMs, rssHighWaterMb, rssMb } from './proc.ts';

const BIN = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));

/** Keep only the tail of the controller's output: enough to explain a crash, bounded for a 10,000-Service run. */
const OUTPUT_TAIL = 64 * 1024;

export interface BenchController {
  readonly pid: number;
  scrape(): Promise<string>;
  /** Sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  rssMb(): number;
  rssPeakMb(): number;
  cpuMs(): number;
  /** Waits until no Service key is queued or being reconciled. */
  waitIdle(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerArgs {
  kubeconfigPath: string;
  provider: 'metal' | 'fake';
  /** Extra flags (--fake-latency-ms, --resync, ...). */
  args?: string[];
  /** Extra Node flags for the controller process (e.g. --heapsnapshot-signal=SIGUSR2). */
  nodeArgs?: string[];
  /** The compiled build (prepared by prepareEntry) or the TypeScript sources. */
  entry: Entry;
}

export async function startBenchController(o: ControllerArgs): Promise<BenchController> {
  const child = spawn(
    process.execPath,
    [
      ...(o.nodeArgs ?? []),
      BIN,
      'controller',
      '--provider',
      o.provider,
      '--kubeconfig',
      o.kubeconfigPath,
      '--no-leader-elect',
      '--metrics-bind-address',
      '127.0.0.1:0',
      // The bench scrapes its own controller on loopback: plain HTTP, no token.
      '--metrics-secure=false',
      // Bench nodes have InternalIPs nothing listens on: probe them rarely, so health-check Events never count
      // in the figures (the first failures would need three rounds, an hour apart).
      '--health-interval',
      '3600',
      '--log-level',
      'info',
      ...(o.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: entryEnv(o.entry) },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the controller');
  let out = '';
  const append = (chunk: string) => {
    out = (out + chunk).slice(-OUTPUT_TAIL);
  };
  child.stdout?.setEncoding('utf8').on('data', append);
  child.stderr?.setEncoding('utf8').on('data', append);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const port = await metricsPort(child, () => out);
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return {
    pid,
    scrape,
    metric: async (name, labels = {}) => sumSamples(await scrape(), name, labels),
    rssMb: () => rssMb(pid),
    rssPeakMb: () => rssHighWaterMb(pid),
    cpuMs: () => cpuMs(pid),
    waitIdle: async (timeoutMs) => {
      // Idle for half a second: no key queued or being reconciled, and no Event written or dropped meanwhile
      // (Events leave through their own queue after the reconcile has returned).
      let idleScrapes = 0;
      let lastEvents = -1;
      await eventually(
        'the controller to go idle',
        async () => {
          const text = await scrape();
          const events =
            sumSamples(text, 'drawbridge_events_written_total') + sumSamples(text, 'drawbridge_events_dropped_total');
          idleScrapes = queueIdleIn(text) && events === lastEvents ? idleScrapes + 1 : 0;
          lastEvents = events;
          return idleScrapes >= 5 ? true : undefined;
        },
        timeoutMs,
      );
    },
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The port the controller logged for /metrics (it binds port 0), once its caches are synced and it serves. */
async function metricsPort(child: ChildProcess, output: () => string): Promise<number> {
  const port = await eventually(
    'the controller to log its metrics port',
    () => {
      if (child.exitCode !== null) throw new Error(`controller exited (${child.exitCode}): ${output().slice(-2000)}`);
      const line = output()
        .split('\n')
        .find((l) => l.includes('serving /metrics'));
      return line ? (JSON.parse(line) as { port: number }).port : undefined;
    },
    60_000,
  );
  // Ready means the informers have listed everything: the idle figures are taken after that.
  await eventually(
    'the controller to be ready',
    async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined),
    60_000,
  );
  return port;
}
