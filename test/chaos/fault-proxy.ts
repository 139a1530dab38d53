// A fault-injecting HTTP proxy in front of a cloud endpoint (moto for AWS, the GCE fake for GCP): the provider talks
// to the proxy as it would to the cloud, and the proxy answers a share of the requests itself, in the cloud's own
// error shapes, without passing them on (as a throttled or failing cloud does nothing). Modes:
// - 5xx: `rate` of the requests get the cloud's server error (AWS 500 InternalFailure / InternalError, GCE 503
//   backendError);
// - throttle: a storm, `rate` of the requests get the cloud's throttling answer (ELBv2 400 Throttling, EC2 503
//   RequestLimitExceeded; GCE 403 rateLimitExceeded and 429 RESOURCE_EXHAUSTED, alternately);
// - hang: `rate` of the requests get no answer at all until the faults stop, when their connections are reset (a
//   black-holed endpoint that comes back); the provider sees them only through its own deadlines or that reset.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seeded } from '../../providers/fake/random.ts';

export type FaultMode = { kind: 'none' } | { kind: '5xx' | 'throttle' | 'hang'; rate: number };

/** What the proxy answers instead of the cloud. */
export interface FaultAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** A cloud's error shapes: given the request (its body read), the answer for an injected fault. */
export type FaultShapes = (fault: '5xx' | 'throttle', body: string, nth: number) => FaultAnswer;

export interface FaultProxy {
  endpoint: string;
  port: number;
  /** Requests answered by the proxy so far, by fault. */
  readonly injected: Record<'5xx' | 'throttle' | 'hang', number>;
  /** Requests passed on to the cloud. */
  readonly passed: number;
  set(mode: FaultMode): void;
  /** No more faults; every hung request's connection is reset. */
  heal(): void;
  close(): Promise<void>;
}

export async function faultProxy(upstream: string, shapes: FaultShapes, seed = 1): Promise<FaultProxy> {
  const target = new URL(upstream);
  const random = seeded(seed);
  let mode: FaultMode = { kind: 'none' };
  const injected = { '5xx': 0, throttle: 0, hang: 0 };
  let passed = 0;
  const hung = new Set<ServerResponse>();

  const pass = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    passed++;
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    out.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const m = mode;
      if (m.kind === 'none' || random() >= m.rate) return pass(req, res, body);
      injected[m.kind]++;
      if (m.kind === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      const answer = shapes(m.kind, body.toString('utf8'), injected[m.kind]);
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      res.end(answer.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const heal = () => {
    mode = { kind: 'none' };
    for (const res of hung) res.destroy();
    hung.clear();
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    injected,
    get passed() {
      return passed;
    },
    set: (next) => {
      if (next.kind === 'none') heal();
      else mode = next;
    },
    heal,
    close: () =>
      new Promise((ok) => {
        heal();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

// ---- the clouds' error shapes (reference/libs.md section 3, reference/cloud-anchors.md section 6)

const EC2_VERSION = 'Version=2016-11-15';

/**
 * AWS query-protocol errors. EC2 (ec2Query, Version 2016-11-15) throttles with 503 RequestLimitExceeded and fails
 * with 500 InternalError; ELBv2 (awsQuery) throttles with 400 Throttling "Rate exceeded" and fails with 500
 * InternalFailure, each in its own XML envelope.
 */
export const awsShapes: FaultShapes = (fault, body) => {
  const ec2 = body.includes(EC2_VERSION);
  const [status, code, message] =
    fault === 'throttle'
      ? ec2
        ? [503, 'RequestLimitExceeded', 'Request limit exceeded.']
        : [400, 'Throttling', 'Rate exceeded']
      : [500, ec2 ? 'InternalError' : 'InternalFailure', 'An internal error has occurred (injected).'];
  const xml = ec2
    ? `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>chaos</RequestID></Response>`
    : `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>chaos</RequestId></ErrorResponse>`;
  return { status, contentType: 'text/xml', body: xml };
};

/**
 * Google's JSON errors for Compute Engine: 503 backendError for a server fault; for throttling, the 403
 * rateLimitExceeded (domain usageLimits) Compute answers when a per-minute rate quota is exceeded, and every
 * other time the 429 RESOURCE_EXHAUSTED that Google front ends answer for the same.
 */
export const gceShapes: FaultShapes = (fault, _body, nth) => {
  const error =
    fault === '5xx'
      ? { code: 503, message: 'Internal error. Please try again.', reason: 'backendError', domain: 'global' }
      : nth % 2 === 1
        ? {
            code: 403,
            message:
              "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'.",
            reason: 'rateLimitExceeded',
            domain: 'usageLimits',
          }
        : { code: 429, message: 'Resource has been exhausted (e.g. check quota).', reason: 'rateLimitExceeded' };
  const status = error.code === 429 ? { status: 'RESOURCE_EXHAUSTED' } : {};
  const body = {
    error: {
      code: error.code,
      message: error.message,
      errors: [{ message: error.message, domain: error.domain ?? 'usageLimits', reason: error.reason }],
      ...status,
    },
  };
  return { status: error.code, contentType: 'application/json; charset=UTF-8', body: JSON.stringify(body) };
};
