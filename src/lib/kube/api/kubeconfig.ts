// Reading a kubeconfig (the YAML kubectl reads) into what the transport needs: the server, the TLS material that
// pins the connection, and a credentials source asked before every request (tokens and exec plugins rotate).
//
// Supported, as kubectl: KUBECONFIG (a list of files, merged: the first file to define a name wins, the first
// current-context wins), ~/.kube/config, --kubeconfig; a context's cluster (server, certificate-authority[-data],
// insecure-skip-tls-verify, tls-server-name) and user (token, tokenFile, client-certificate[-data] and
// client-key[-data], username/password, exec plugins). Relative file paths are relative to the kubeconfig's folder.
// Not supported, each a clear error naming the user entry: the legacy auth-provider plugins (oidc, gcp, azure;
// kubectl itself dropped gcp and azure, use their exec plugins), impersonation (as / as-groups) and proxy-url.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { type CredentialSource, fileCredentials, staticCredentials } from './credentials.ts';
import { type ExecConfig, execCredentials } from './exec.ts';

/** Where requests go and how the connection is made; see credentials.ts for who we are. */
export interface KubeAccess {
  /** https://host:port (no trailing slash). */
  server: string;
  ca?: Buffer;
  /** insecure-skip-tls-verify. */
  insecure: boolean;
  servername?: string;
  credentials: CredentialSource;
  /** For error messages: which kubeconfig/context/user this came from. */
  origin: string;
}

interface NamedCluster {
  name: string;
  cluster?: Record<string, unknown>;
}
interface NamedUser {
  name: string;
  user?: Record<string, unknown>;
}
interface NamedContext {
  name: string;
  context?: { cluster?: string; user?: string; namespace?: string };
}
/** The kubeconfig document (v1 Config), each entry with the folder its file was in. */
export interface KubeconfigDocument {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

/** --kubeconfig if given, else $KUBECONFIG, else ~/.kube/config if it exists, else in-cluster. */
export function loadKubeAccess(path?: string, env: NodeJS.ProcessEnv = process.env): KubeAccess {
  if (path) return fromKubeconfigFiles([path]);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) return fromKubeconfigFiles(listed);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (readable(home)) return fromKubeconfigFiles([home]);
  return inClusterAccess(env);
}

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A pod's own access: KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount's CA and (rotating) projected token. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICEACCOUNT_DIR): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      'no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not in a pod (KUBERNETES_SERVICE_HOST/PORT unset)',
    );
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    insecure: false,
    credentials: fileCredentials({ tokenFile: join(dir, 'token') }),
    origin: 'in-cluster ServiceAccount',
  };
}

/** Reads and merges kubeconfig files (KUBECONFIG order), then resolves the current context. */
export function fromKubeconfigFiles(paths: string[], context?: string): KubeAccess {
  const merged: Required<KubeconfigDocument> = { clusters: [], users: [], contexts: [], 'current-context': '' };
  const dirs = new Map<object, string>();
  let found = 0;
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      // kubectl skips missing files in KUBECONFIG, but a file named alone must exist.
      if (paths.length > 1 && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read kubeconfig ${path}: ${(error as Error).message}`);
    }
    found++;
    const doc = (load(text) ?? {}) as KubeconfigDocument;
    if (typeof doc !== 'object') throw new Error(`kubeconfig ${path} is not a YAML mapping`);
    const dir = dirname(resolve(path));
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const list = merged[key] as { name: string }[];
      for (const entry of doc[key] ?? []) {
        if (list.some((e) => e.name === entry.name)) continue;
        list.push(entry);
        dirs.set(entry, dir);
      }
    }
    if (!merged['current-context'] && doc['current-context']) merged['current-context'] = doc['current-context'];
  }
  if (found === 0) throw new Error(`none of the kubeconfig files exist: ${paths.join(', ')}`);
  return fromKubeconfig(merged, {
    context,
    dirOf: (entry) => dirs.get(entry) ?? process.cwd(),
    origin: paths.join(':'),
  });
}

export interface ResolveOptions {
  context?: string;
  /** The folder relative paths in `entry` are relative to. */
  dirOf?: (entry: object) => string;
  origin?: string;
}

/** Resolves one context of a parsed kubeconfig into KubeAccess. */
export function fromKubeconfig(doc: KubeconfigDocument, options: ResolveOptions = {}): KubeAccess {
  const origin = options.origin ?? 'kubeconfig';
  const contextName = options.context ?? doc['current-context'];
  if (!contextName) throw new Error(`${origin}: no current-context`);
  const context = doc.contexts?.find((c) => c.name === contextName);
  if (!context?.context) throw new Error(`${origin}: context "${contextName}" not found`);
  const clusterEntry = doc.clusters?.find((c) => c.name === context.context?.cluster);
  if (!clusterEntry?.cluster) throw new Error(`${origin}: cluster "${context.context.cluster}" not found`);
  const userName = context.context.user;
  const userEntry = userName === undefined ? undefined : doc.users?.find((u) => u.name === userName);
  if (userName !== undefined && !userEntry) throw new Error(`${origin}: user "${userName}" not found`);
  const at = (entry: object) => (file: string) =>
    isAbsolute(file) ? file : join(options.dirOf?.(entry) ?? process.cwd(), file);

  const c = clusterEntry.cluster;
  const server = typeof c.server === 'string' ? c.server.replace(/\/+$/, '') : '';
  if (!/^https?:\/\//.test(server)) throw new Error(`${origin}: cluster "${clusterEntry.name}" has no http(s) server`);
  if (c['proxy-url']) throw new Error(`${origin}: cluster "${clusterEntry.name}": proxy-url is not supported`);
  const ca = pem(c['certificate-authority-data'], c['certificate-authority'], at(clusterEntry));
  const where = `${origin} (context "${contextName}", user "${userName ?? ''}")`;
  return {
    server,
    ca,
    insecure: c['insecure-skip-tls-verify'] === true,
    servername: typeof c['tls-server-name'] === 'string' ? c['tls-server-name'] : undefined,
    credentials: userEntry ? userCredentials(userEntry, at(userEntry), where) : staticCredentials({}),
    origin: where,
  };
}

function userCredentials(entry: NamedUser, at: (file: string) => string, where: string): CredentialSource {
  const u = entry.user ?? {};
  const unsupported = (what: string) =>
    new Error(
      `${where}: user "${entry.name}" uses ${what}, which Drawbridge does not support; use a token, a client certificate or an exec plugin`,
    );
  if (u.as !== undefined || u['as-groups'] !== undefined) throw unsupported('impersonation (as)');
  const provider = u['auth-provider'] as { name?: string; config?: Record<string, string> } | undefined;
  // client-node's own in-cluster user reads like this; anything else (oidc, gcp, azure) is a legacy plugin.
  const providerTokenFile = provider?.name === 'tokenFile' ? provider.config?.tokenFile : undefined;
  if (provider && !providerTokenFile) throw unsupported(`the auth-provider "${provider.name}"`);
  if (u.exec) return execCredentials(u.exec as ExecConfig, `${where}: exec plugin of user "${entry.name}"`);
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const tokenFile = str(u.tokenFile) ?? providerTokenFile;
  const certFile = str(u['client-certificate']);
  const keyFile = str(u['client-key']);
  const certData = str(u['client-certificate-data']);
  const keyData = str(u['client-key-data']);
  const basic =
    str(u.username) !== undefined
      ? `Basic ${Buffer.from(`${u.username}:${str(u.password) ?? ''}`).toString('base64')}`
      : undefined;
  const fixed = {
    token: str(u.token),
    cert: certData ? Buffer.from(certData, 'base64') : undefined,
    key: keyData ? Buffer.from(keyData, 'base64') : undefined,
    authorization: basic,
  };
  if (tokenFile || certFile || keyFile) {
    return fileCredentials({
      ...fixed,
      tokenFile: tokenFile ? at(tokenFile) : undefined,
      certFile: certFile ? at(certFile) : undefined,
      keyFile: keyFile ? at(keyFile) : undefined,
    });
  }
  return staticCredentials(fixed);
}

function pem(data: unknown, file: unknown, at: (file: string) => string): Buffer | undefined {
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
  if (typeof file === 'string' && file !== '') return readFileSync(at(file));
  return undefined;
}

function readable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}
