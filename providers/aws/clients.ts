// The AWS SDK clients behind one limiter per API family, and the mapping of SDK failures to the contract's typed
// errors. Every call goes through `send`, which waits for its limiter, passes the caller's AbortSignal to the SDK
// and translates the error; nothing else in the provider touches a client directly.
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import Bottleneck from 'bottleneck';
import {
  type CounterPort,
  type GaugePort,
  type MetricsPort,
  type PlannedAction,
  RetryableError,
  ThrottledError,
} from '../../src/contract/provider.ts';
import { AdaptiveRate } from './adaptive-rate.ts';
import type { AwsConfig } from './index.ts';

type Family = 'elbv2Read' | 'elbv2Write' | 'ec2';

// biome-ignore lint/suspicious/noExplicitAny: the SDK's Command generics are not worth spelling out per call.
type AnyCommand = any;

/** Error codes AWS uses for throttling: ELBv2 `Throttling`, EC2 `RequestLimitExceeded`, others the rest. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'SlowDown',
]);

export interface AwsError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export const errorCode = (e: unknown): string | undefined => (e as AwsError)?.name ?? (e as AwsError)?.Code;

/** Throttling -> ThrottledError, 5xx -> RetryableError; client errors stay as they are for the caller to judge. */
export function translate(e: unknown, what: string): unknown {
  const code = errorCode(e);
  const status = (e as AwsError)?.$metadata?.httpStatusCode ?? 0;
  const message = `${what}: ${code ?? 'error'}: ${(e as Error)?.message ?? String(e)}`;
  if (code && THROTTLING.has(code)) return new ThrottledError('AwsThrottled', message, { cause: e });
  // 501: the endpoint does not implement the API (LocalStack without Pro answers ELBv2 so); retrying cannot help.
  if (status >= 500 && status !== 501) return new RetryableError('AwsServerError', message, { cause: e });
  return e;
}

/** What the provider's steps need: one way to send a command. AwsClients sends it; a PlanRecorder may not. */
export interface Sender {
  send<T>(client: 'ec2' | 'elbv2', command: AnyCommand, signal: AbortSignal): Promise<T>;
}

const commandName = (command: AnyCommand): string => command.constructor.name.replace(/Command$/, '');
const isWrite = (name: string) => !/^Describe/.test(name);

/** ARNs and ids of resources a plan would create; describes that mention one answer "nothing there". */
const PLANNED = 'planned:';

/**
 * Runs ensure() without writing: reads go to AWS, each write is recorded as a PlannedAction and answered with a
 * placeholder (so later steps see "it would exist"). This keeps plan() and ensure() one code path.
 */
export class PlanRecorder implements Sender {
  readonly actions: PlannedAction[] = [];
  private readonly real: Sender;
  constructor(real: Sender) {
    this.real = real;
  }

  async send<T>(client: 'ec2' | 'elbv2', command: AnyCommand, signal: AbortSignal): Promise<T> {
    const name = commandName(command);
    const input = command.input as Record<string, unknown>;
    if (!isWrite(name)) {
      if (JSON.stringify(input).includes(PLANNED)) return {} as T;
      return this.real.send<T>(client, command, signal);
    }
    const [verb, ...rest] = name.split(/(?=[A-Z])/);
    const action =
      verb === 'Create' || verb === 'Register' || verb === 'Authorize'
        ? 'create'
        : verb === 'Modify' || verb === 'Set'
          ? 'update'
          : 'delete';
    const what = String(
      input.Name ?? input.TargetGroupArn ?? input.LoadBalancerArn ?? input.ListenerArn ?? input.GroupId ?? '',
    );
    this.actions.push({ action, resource: rest.join(''), name: what, detail: planDetail(name, input) });
    const arn = `${PLANNED}${what}`;
    return { LoadBalancers: [{ LoadBalancerArn: arn, DNSName: '' }], TargetGroups: [{ TargetGroupArn: arn }] } as T;
  }
}

/**
 * The call and what a reader of a plan needs to see of it: a listener's protocol, port, TLS policy and
 * certificates, attributes written, an IP address type (e.g. `CreateListener TLS:443 ELBSecurityPolicy-2016-08
 * cert=arn:...`, `ModifyTargetGroupAttributes proxy_protocol_v2.enabled=true`).
 */
export function planDetail(name: string, input: Record<string, unknown>): string {
  const parts = [name];
  if (input.Protocol !== undefined && input.Port !== undefined) parts.push(`${input.Protocol}:${input.Port}`);
  if (input.SslPolicy) parts.push(String(input.SslPolicy));
  for (const c of (input.Certificates as { CertificateArn?: string }[] | undefined) ?? [])
    parts.push(`cert=${c.CertificateArn}`);
  for (const a of (input.Attributes as { Key?: string; Value?: string }[] | undefined) ?? [])
    parts.push(`${a.Key}=${a.Value}`);
  if (input.IpAddressType) parts.push(`IpAddressType=${input.IpAddressType}`);
  return parts.join(' ');
}

/**
 * A throttled call is sent again (through its limiter, which has slowed down) this many times beyond the SDK's own
 * attempts before the ensure gives up: a throttle says "slower", not "failed", and giving up throws away the
 * ensure's progress to the queue's backoff.
 */
const THROTTLE_RESENDS = 4;

export class AwsClients implements Sender {
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  private readonly limiters: Record<Family, Bottleneck>;
  /** The adaptive rate of each family (adaptive-rate.ts); its value is the drawbridge_aws_api_rate_limit gauge. */
  readonly rates: Record<Family, AdaptiveRate>;

  constructor(config: AwsConfig, metrics?: MetricsPort) {
    // The endpoint override wins, then AWS_ENDPOINT_URL (which the SDK also honours, but explicit is clearer).
    const endpoint = config.endpoint ?? process.env.AWS_ENDPOINT_URL;
    // 'standard': the SDK retries (maxAttempts 3 is 2 retries) with backoff; the client-side rate limiting its
    // 'adaptive' mode would add per client is done here instead, per API family (adaptive-rate.ts).
    const common = { region: config.region, retryMode: 'standard', maxAttempts: 3, ...(endpoint ? { endpoint } : {}) };
    this.ec2 = new EC2Client(common);
    this.elbv2 = new ElasticLoadBalancingV2Client(common);
    const l = config.limiters;
    let gauge: GaugePort<'family'> | undefined;
    let throttles: CounterPort<'family'> | undefined;
    if (metrics) {
      gauge = metrics.gauge({
        name: 'api_rate_limit',
        help: 'Requests per second the adaptive limiter of each AWS API family allows (at most the configured rate)',
        labelNames: ['family'],
      });
      throttles = metrics.counter({
        name: 'api_throttles_total',
        help: 'AWS answers that throttled a request, per API family',
        labelNames: ['family'],
      });
    }
    // bottleneck calls it minTime; passing our minTimeMs through as-is would silently mean "no spacing".
    const limiter = (o: { maxConcurrent: number; minTimeMs: number }) =>
      new Bottleneck({ maxConcurrent: o.maxConcurrent, minTime: o.minTimeMs });
    this.limiters = { elbv2Read: limiter(l.elbv2Read), elbv2Write: limiter(l.elbv2Write), ec2: limiter(l.ec2) };
    const rate = (family: Family) => {
      // minTimeMs 0 means no configured spacing: the adaptive rate then starts (and caps) at 100/s.
      const cap = l[family].minTimeMs > 0 ? 1000 / l[family].minTimeMs : 100;
      let minTime = l[family].minTimeMs;
      return new AdaptiveRate(cap, (r) => {
        gauge?.set({ family }, Math.round(r * 100) / 100);
        const next = Math.round(1000 / r);
        if (next === minTime) return;
        minTime = next;
        this.limiters[family].updateSettings({ minTime });
      });
    };
    this.rates = { elbv2Read: rate('elbv2Read'), elbv2Write: rate('elbv2Write'), ec2: rate('ec2') };
    // The limiter sits inside the SDK's retry loop (after retryMiddleware), so every attempt waits for it: a
    // retry after a throttle is a request like any other, and the adaptive rate bounds what AWS sees.
    const limited = (client: 'ec2' | 'elbv2'): AnyCommand => {
      return (next: AnyCommand, context: { commandName?: string }) => (args: unknown) => {
        const write = isWrite(String(context.commandName ?? '').replace(/Command$/, ''));
        const family: Family = client === 'ec2' ? 'ec2' : write ? 'elbv2Write' : 'elbv2Read';
        const adaptive = this.rates[family];
        // Writes go ahead of reads (a create or delete should not wait behind a resync's describes).
        return this.limiters[family]
          .schedule({ priority: write ? 3 : 5 }, () => next(args))
          .then(
            (out: unknown) => {
              adaptive.success();
              return out;
            },
            (e: unknown) => {
              const code = errorCode(e);
              if (code && THROTTLING.has(code)) {
                adaptive.throttle();
                throttles?.inc({ family });
              } else adaptive.success();
              throw e;
            },
          );
      };
    };
    const at = { relation: 'after', toMiddleware: 'retryMiddleware', name: 'drawbridgeLimiter' } as const;
    this.ec2.middlewareStack.addRelativeTo(limited('ec2'), at);
    this.elbv2.middlewareStack.addRelativeTo(limited('elbv2'), at);
  }

  /** Sends one command; a call aborted before it is sent (or while queued in a limiter) never reaches AWS. */
  async send<T>(client: 'ec2' | 'elbv2', command: AnyCommand, signal: AbortSignal): Promise<T> {
    const name = commandName(command);
    for (let resend = 0; ; resend++) {
      signal.throwIfAborted();
      try {
        const options = { abortSignal: signal };
        const out = client === 'ec2' ? this.ec2.send(command, options) : this.elbv2.send(command, options);
        return (await out) as T;
      } catch (e) {
        if (signal.aborted) throw signal.reason ?? e;
        const error = translate(e, name);
        if (!(error instanceof ThrottledError) || resend >= THROTTLE_RESENDS) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.limiters).map((l) => l.stop({ dropWaitingJobs: true })));
    this.ec2.destroy();
    this.elbv2.destroy();
  }
}
