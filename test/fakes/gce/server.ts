// The GCE REST fake: a node:http server on 127.0.0.1 answering the Compute v1 paths the gcp provider uses.
// Google ships no Compute emulator; this is written from the REST reference (see README.md for its limits).
// Point @google-cloud/compute at it with {apiEndpoint: '127.0.0.1', port, protocol: 'http'}.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BASE, Compute } from './compute.ts';
import { backendError, GceError, notFound, rateLimited } from './errors.ts';
import type { OperationScope } from './operations.ts';
import { type Faults, type LoggedRequest, patternOf, type QuotaGroup, Quotas, RequestLog, seeded } from './requests.ts';

export interface GceFakeOptions {
  /** External addresses are handed out from here (default: TEST-NET-3, never routed). */
  addressRange?: string;
  /** Standard-tier external addresses (default: TEST-NET-2); `addressRange` is the Premium tier's. */
  standardAddressRange?: string;
  /** Time from a mutation to its Operation being DONE (default 20 ms). */
  operationMs?: number;
  /** Longest an operations.wait call blocks before answering a not-yet-DONE operation (GCE: about 2 min). */
  waitMaxMs?: number;
  /** Per-minute request quotas per project and group; unset groups are unlimited. */
  quotas?: Partial<Record<QuotaGroup, number>>;
  quotaWindowMs?: number;
  faults?: Partial<Faults>;
  seed?: number;
  /** Port on 127.0.0.1 (default 0: any free one; the demo picks one so its background process can be found). */
  port?: number;
  /** Items per list page when the request sets no `maxResults` (GCE: 500; tests lower it to see paging). */
  pageSize?: number;
}

export interface GceFake {
  /** ClientOptions for @google-cloud/compute. */
  endpoint: { apiEndpoint: string; port: number; protocol: 'http' };
  url: string;
  compute: Compute;
  log: RequestLog;
  quotas: Quotas;
  faults: Faults;
  seedInstance(project: string, zone: string, name: string): string;
  /** Resolves once no operation is PENDING or RUNNING. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const PREFIX = '/compute/v1/projects/';

export async function startGceFake(options: GceFakeOptions = {}): Promise<GceFake> {
  const compute = new Compute(
    options.addressRange ?? '203.0.113.0/24',
    options.operationMs ?? 20,
    options.standardAddressRange ?? '198.51.100.0/24',
  );
  const log = new RequestLog();
  const quotas = new Quotas(options.quotas ?? {}, options.quotaWindowMs);
  const faults: Faults = { errorRate: 0, latencyMs: 0, ...options.faults };
  const random = seeded(options.seed ?? 1);
  const waitMaxMs = options.waitMaxMs ?? 120_000;
  const pageSize = options.pageSize ?? MAX_RESULTS;

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const group = groupOf(method, path);
    const entry: LoggedRequest = { method, path, pattern: patternOf(method, path), group, status: 0 };
    log.entries.push(entry);
    let status = 200;
    let body: unknown;
    try {
      const raw = await readBody(req);
      const delay = faults.latencyMs + (faults.slow?.match.test(`${method} ${path}`) ? faults.slow.ms : 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (!path.startsWith(PREFIX)) throw notFound(path);
      const project = path.slice(PREFIX.length).split('/')[0]!;
      const fail = faults.failNext;
      if (fail && fail.count > 0 && (!fail.match || fail.match.test(`${method} ${path}`))) {
        fail.count--;
        throw new GceError(fail.status, fail.status >= 500 ? 'backendError' : 'injected', 'Injected failure.');
      }
      if (faults.errorRate > 0 && random() < faults.errorRate) throw backendError();
      const limited = faults.rateLimitRate ?? 0;
      if (limited > 0 && random() < limited) throw rateLimited(QUOTA_METRIC[group]);
      if (!quotas.take(project, group)) throw rateLimited(QUOTA_METRIC[group]);
      const parsed = parse(raw);
      if (group === 'write') entry.body = parsed;
      body = await route(method, path, url.searchParams, parsed);
    } catch (error) {
      const e = error instanceof GceError ? error : new GceError(500, 'internalError', String(error));
      status = e.code;
      body = e.body();
    }
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  }

  async function route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>) {
    const rest = path.slice(PREFIX.length).split('/'); // [project, scope..., collection, name?, verb?]
    const project = rest[0]!;
    let scope: OperationScope;
    let i: number;
    if (rest[1] === 'global') {
      scope = { kind: 'global' };
      i = 2;
    } else if (rest[1] === 'regions' || rest[1] === 'zones') {
      scope = { kind: rest[1], name: rest[2] ?? '' };
      i = 3;
    } else throw notFound(path);
    const [collection, name, verb, ...extra] = rest.slice(i);
    if (!collection || extra.length > 0) throw notFound(path);
    const collectionPath = rest.slice(0, i + 1).join('/');
    const resourcePath = `projects/${collectionPath}/${name}`;
    checkQuery(
      query,
      method === 'GET'
        ? name
          ? []
          : LIST_PARAMS
        : collection === 'operations'
          ? []
          : verb === 'listInstances'
            ? LIST_PARAMS
            : ['requestId'],
    );

    if (collection === 'operations') {
      if (!name) throw notFound(path);
      const op =
        method === 'POST' && verb === 'wait'
          ? await compute.operations.wait(project, scope, name, waitMaxMs)
          : method === 'GET' && !verb
            ? compute.operations.get(project, scope, name)
            : undefined;
      if (!op) throw notFound(resourcePath);
      return op;
    }
    if (!ALLOWED[collection]?.includes(scope.kind)) throw notFound(path);
    if ((collection === 'instances' || collection === 'subnetworks') && method !== 'GET') {
      throw methodNotAllowed(method, collection);
    }

    if (!name) {
      if (method === 'GET') return listBody(collection, `projects/${collectionPath}`, query);
      if (method === 'POST') return compute.insert(project, scope, collection, body);
      throw methodNotAllowed(method, collection);
    }
    if (verb) {
      if (method === 'POST' && collection === 'targetPools' && (verb === 'addInstance' || verb === 'removeInstance')) {
        return compute.poolMembers(project, scope, resourcePath, verb, body);
      }
      if (method === 'POST' && collection === 'instanceGroups' && GROUP_VERBS.includes(verb)) {
        return compute.groupInstances(project, scope, resourcePath, verb, body);
      }
      throw notFound(path);
    }
    switch (method) {
      case 'GET':
        return compute.get(resourcePath);
      case 'DELETE':
        return compute.delete(project, scope, resourcePath);
      case 'PATCH':
        return compute.modify(project, scope, resourcePath, body, false);
      case 'PUT':
        return compute.modify(project, scope, resourcePath, body, true);
      default:
        throw methodNotAllowed(method, collection);
    }
  }

  /**
   * One page of a list, in name order (GCE's default order). `maxResults` 0..500 (absent or 0: `pageSize`),
   * `pageToken` from the previous page's `nextPageToken`; `items` is absent on an empty page, as GCE sends it.
   */
  function listBody(collection: string, collectionPath: string, query: URLSearchParams) {
    if (query.get('filter')) {
      throw new GceError(400, 'invalid', 'The fake does not evaluate list filters; filter on the client.');
    }
    if (query.get('orderBy')) {
      throw new GceError(400, 'invalid', 'The fake does not implement orderBy; sort on the client.');
    }
    const raw = query.get('maxResults');
    let size = pageSize;
    if (raw !== null) {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n > MAX_RESULTS) {
        throw invalidParam('maxResults', raw, `Must be an integer from 0 to ${MAX_RESULTS}.`);
      }
      if (n > 0) size = n;
    }
    const all = compute.list(collectionPath).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let offset = 0;
    const token = query.get('pageToken');
    if (token) offset = readPageToken(token, collectionPath);
    const items = all.slice(offset, offset + size);
    const kind = collection === 'addresses' ? 'address' : collection.slice(0, -1);
    const body: Record<string, unknown> = { kind: `compute#${kind}List`, id: collectionPath };
    if (items.length > 0) body.items = items;
    if (offset + size < all.length) body.nextPageToken = pageTokenFor(offset + size, collectionPath);
    body.selfLink = `${BASE}/${collectionPath}`;
    return body;
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { apiEndpoint: '127.0.0.1', port, protocol: 'http' },
    url: `http://127.0.0.1:${port}`,
    compute,
    log,
    quotas,
    faults,
    seedInstance: (project, zone, name) => compute.seedInstance(project, zone, name).selfLink,
    settled: async () => {
      while (compute.operations.pending() > 0) await new Promise((r) => setTimeout(r, 5));
    },
    close: async () => {
      compute.operations.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** GCE's largest page (and the default `maxResults`). */
const MAX_RESULTS = 500;

/** Query parameters a list accepts; mutations accept `requestId`; gets and operations none. */
const LIST_PARAMS = ['filter', 'maxResults', 'orderBy', 'pageToken', 'returnPartialSuccess'];
/** Google's system parameters, accepted on every method. */
const SYSTEM_PARAMS = ['alt', 'fields', 'key', 'prettyPrint', 'quotaUser', 'userIp', 'callback', 'access_token'];

/** GCE refuses a query parameter the method does not define (400 "Cannot bind query parameter"). */
function checkQuery(query: URLSearchParams, allowed: string[]): void {
  for (const key of query.keys()) {
    if (allowed.includes(key) || SYSTEM_PARAMS.includes(key) || key.startsWith('$')) continue;
    throw new GceError(
      400,
      'invalid',
      `Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter. Field '${key}' could not be found in request message.`,
    );
  }
}

function invalidParam(name: string, value: string, why: string) {
  return new GceError(400, 'invalid', `Invalid value for field '${name}': '${value}'. ${why}`);
}

/** Opaque to clients: the offset of the next page, bound to the collection it came from. */
function pageTokenFor(offset: number, collectionPath: string): string {
  return Buffer.from(JSON.stringify({ o: offset, c: collectionPath })).toString('base64url');
}

function readPageToken(token: string, collectionPath: string): number {
  try {
    const { o, c } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o: unknown; c: unknown };
    if (c === collectionPath && Number.isInteger(o) && (o as number) >= 0) return o as number;
  } catch {
    // fall through
  }
  throw invalidParam('pageToken', token, 'The page token is not valid for this list.');
}

/** Where each collection lives. */
const ALLOWED: Record<string, string[]> = {
  addresses: ['regions'],
  forwardingRules: ['regions'],
  targetPools: ['regions'],
  httpHealthChecks: ['global'],
  firewalls: ['global'],
  instances: ['zones'],
  backendServices: ['regions'],
  healthChecks: ['regions'],
  instanceGroups: ['zones'],
  subnetworks: ['regions'],
};

const GROUP_VERBS = ['addInstances', 'removeInstances', 'listInstances'];

const QUOTA_METRIC: Record<QuotaGroup, string> = {
  read: 'Read requests',
  list: 'List requests',
  write: 'Write requests',
  operationRead: 'Operation read requests',
};

function groupOf(method: string, path: string): QuotaGroup {
  if (path.includes('/operations/')) return 'operationRead';
  // A POST that only reads (GCE counts it against the list quota).
  if (path.endsWith('/listInstances')) return 'list';
  if (method !== 'GET') return 'write';
  const collection = path.split('/').at(-1) ?? '';
  return Object.hasOwn(ALLOWED, collection) ? 'list' : 'read';
}

function methodNotAllowed(method: string, collection: string) {
  return new GceError(405, 'httpMethodNotAllowed', `${method} is not supported on ${collection}`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parse(raw: string): Record<string, unknown> {
  if (raw.trim() === '' || raw.trim() === '""') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new GceError(400, 'parseError', 'Invalid JSON payload received.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GceError(400, 'parseError', 'Invalid JSON payload received: expected an object.');
  }
  return value as Record<string, unknown>;
}
