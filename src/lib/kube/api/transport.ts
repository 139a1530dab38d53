// HTTP to the apiserver over ONE keep-alive agent per cluster and TLS material. (@kubernetes/client-node 2.0 builds
// a new undici Agent per API call: every call paid a TCP + TLS handshake and left a TLSSocket behind; in the
// 1,000-Service burst that was ~700 live sockets, most of the process's native memory and half its CPU.) Bodies go out and come back as plain JSON objects: nothing is
// turned into model class instances, so a watch event costs one JSON.parse. Credentials are asked for on every
// request (they rotate); a client certificate that changes (a rotated file, a new exec credential) gets a fresh
// agent, and the old one is closed once the requests and watches that were on it have had time to end.
import { createHash } from 'node:crypto';
import type { Agent, IncomingMessage } from 'node:http';
import { createSecureContext } from 'node:tls';
import { http, https } from '../../node-http.ts';
import type { Credentials } from './credentials.ts';
import { KubeApiError } from './errors.ts';
import type { KubeAccess } from './kubeconfig.ts';

export interface SendOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Abort a request (not a watch) after this long (default 60 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A replaced agent is destroyed this long after: longer than a watch lasts (the apiserver ends them in <= 10 min). */
const RETIRE_AFTER_MS = 15 * 60_000;
const USER_AGENT = 'drawbridge';

export class Transport {
  readonly access: KubeAccess;
  readonly #secure: boolean;
  readonly #base: URL;
  #agent: { key: string; cert?: Buffer; key_?: Buffer; agent: Agent } | undefined;
  readonly #retired = new Set<NodeJS.Timeout>();

  constructor(access: KubeAccess) {
    this.access = access;
    this.#base = new URL(access.server);
    this.#secure = this.#base.protocol === 'https:';
  }

  /** A request whose answer is JSON (or empty): resolves to the parsed body, rejects with KubeApiError. */
  async send<T = unknown>(method: string, path: string, o: SendOptions = {}): Promise<T> {
    // A deadline we clear when the answer is in, not AbortSignal.timeout: that one cannot be cancelled, so every
    // request's timer, signal and AbortSignal.any bookkeeping stayed alive for the whole minute (about 6 KB per
    // Service after a burst, still held after every Service was deleted).
    const deadline = new AbortController();
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(
      () => deadline.abort(new DOMException(`${method} ${path}: no answer in ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    const signal = o.signal ? AbortSignal.any([deadline.signal, o.signal]) : deadline.signal;
    try {
      const response = await this.open(method, path, { ...o, signal });
      const text = await readAll(response);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (error) {
      // Aborted: report why (our deadline, or the caller's reason), not Node's bare "The operation was aborted".
      throw signal.aborted ? signal.reason : error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a request and resolves once a 2xx answer's headers arrive (a watch reads the body as it streams). */
  async open(method: string, path: string, o: SendOptions = {}): Promise<IncomingMessage> {
    const credentials = await this.access.credentials.get();
    const url = new URL(this.#base.pathname.replace(/\/$/, '') + path, this.#base);
    for (const [k, v] of Object.entries(o.query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string | number> = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (credentials.token) headers.Authorization = `Bearer ${credentials.token}`;
    else if (credentials.authorization) headers.Authorization = credentials.authorization;
    if (payload) {
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const attempt = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        let answered = false;
        const request = (this.#secure ? https : http).request(
          url,
          { method, headers, agent: this.agentFor(credentials), signal: o.signal },
          (response) => {
            answered = true;
            resolve(response);
          },
        );
        request.on('error', (error: NodeJS.ErrnoException) => {
          // The apiserver closed an idle keep-alive connection just as we reused it: the request never got there,
          // so it is sent once more on a fresh connection (the retry Node's documentation gives for reusedSocket).
          // Once an answer has begun (a watch streaming), a reset is the stream's to report, not a reason to resend.
          if (answered) return;
          if (request.reusedSocket && error.code === 'ECONNRESET' && !o.signal?.aborted) resolve(attempt());
          else reject(error);
        });
        request.end(payload);
      });
    const response = await attempt();
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const text = await readAll(response).catch(() => '');
    if (status === 401) this.access.credentials.invalidate();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    const retryAfter = response.headers['retry-after'];
    throw new KubeApiError(method, path, status, body, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  }

  /** Closes every connection (in-flight requests fail). */
  close(): void {
    for (const timer of this.#retired) clearTimeout(timer);
    this.#retired.clear();
    this.#agent?.agent.destroy();
    this.#agent = undefined;
  }

  private agentFor(credentials: Credentials): Agent {
    const current = this.#agent;
    // The common case: the same certificate objects as last time (or none), so no hashing per request.
    if (current && current.cert === credentials.cert && current.key_ === credentials.key) return current.agent;
    const key = tlsKey(credentials);
    if (current?.key === key) {
      current.cert = credentials.cert;
      current.key_ = credentials.key;
      return current.agent;
    }
    const options = {
      keepAlive: true,
      // Watches hold a socket each for minutes; requests share the rest. As many may stay open idle as may be
      // open at all: with fewer, the connections above that number were closed after every request of a burst
      // and opened again (a TLS handshake each) for the next.
      maxSockets: 64,
      maxFreeSockets: 64,
      // One TLS context for every connection: given only ca/cert/key, Node parses them into a new context per
      // connection (a quarter of a second of CPU in a 1,000-Service burst).
      secureContext: this.#secure
        ? createSecureContext({ ca: this.access.ca, cert: credentials.cert, key: credentials.key })
        : undefined,
      ca: this.access.ca,
      cert: credentials.cert,
      key: credentials.key,
      rejectUnauthorized: !this.access.insecure,
      servername: this.access.servername,
    };
    const agent = this.#secure ? new https.Agent(options) : new http.Agent(options);
    this.#agent = { key, cert: credentials.cert, key_: credentials.key, agent };
    if (current) {
      const timer = setTimeout(() => {
        this.#retired.delete(timer);
        current.agent.destroy();
      }, RETIRE_AFTER_MS);
      timer.unref();
      this.#retired.add(timer);
    }
    return agent;
  }
}

function tlsKey(c: Credentials): string {
  const hash = createHash('sha256');
  hash.update(c.cert ?? '');
  hash.update('\0');
  hash.update(c.key ?? '');
  return hash.digest('base64url');
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
