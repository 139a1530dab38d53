// Reading a kubeconfig (the YAML kubectl reads) into what the transport needs: the server, the TLS material that
// pins the connection, and a credentials source asked before every request (tokens and exec plugins rotate).
//
// Supported, as kubectl: --kubeconfig, else KUBECONFIG (a list of files, merged: the first file to define a name
// wins, the first current-context wins, missing files are skipped), else ~/.kube/config, else in-cluster (a pod's
// ServiceAccount); a context's cluster (server, certificate-authority[-data], insecure-skip-tls-verify,
// tls-server-name) and user (token, tokenFile, client-certificate[-data] and client-key[-data], username/password,
// exec plugins: exec.ts). Relative file paths, and an exec command with a slash in it, are relative to the folder
// of the kubeconfig that names them.
// Not supported, each one line naming the user or cluster entry and what to use instead: the legacy auth-provider
// plugins (oidc, gcp, azure; kubectl itself dropped gcp and azure), impersonation (as, as-uid, as-groups,
// as-user-extra) and proxy-url.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { load, type YAMLException } from 'js-yaml';
import { type CredentialSource, fileCredentials, staticCredentials } from './credentials.ts';
import { type ExecCluster, type ExecConfig, execCredentials } from './exec.ts';

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

/**
 * --kubeconfig if given, else $KUBECONFIG (if any file it lists exists), else ~/.kube/config if it exists, else
 * in-cluster: client-go's order.
 */
export function loadKubeAccess(
  path?: string,
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir = SERVICEACCOUNT_DIR,
): KubeAccess {
  if (path) return fromKubeconfigFiles([path]);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.some((p) => existsSync(p))) return fromKubeconfigFiles(listed);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (listed.length === 0 && existsSync(home)) return fromKubeconfigFiles([home]);
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return inClusterAccess(env, serviceAccountDir);
  const looked = listed.length > 0 ? `$KUBECONFIG=${listed.join(delimiter)}` : `$KUBECONFIG (unset), ${home}`;
  throw new Error(
    `no kubeconfig found (looked at --kubeconfig (not given), ${looked}) and not in a pod ` +
      '(KUBERNETES_SERVICE_HOST/PORT unset); pass --kubeconfig or set KUBECONFIG',
  );
}

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A pod's own access: KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount's CA and (rotating) projected token. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICEACCOUNT_DIR): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error('in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not in a pod?)');
  }
  const tokenFile = join(dir, 'token');
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      // As client-go, the token is read up front: a pod without one (automountServiceAccountToken: false) fails
      // here, not at its first request.
      throw new Error(`in-cluster: cannot read the ServiceAccount ${what} ${file}: ${(error as Error).message}`);
    }
  };
  read(tokenFile, 'token');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: read(join(dir, 'ca.crt'), 'CA'),
    insecure: false,
    credentials: fileCredentials({ tokenFile }),
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
    const doc = parseYaml(text, path);
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
  if (c['proxy-url']) {
    throw new Error(
      `${origin}: cluster "${clusterEntry.name}" uses proxy-url, which Drawbridge does not support; ` +
        'give it a server address reachable without a proxy (a tunnel, or `kubectl proxy` and http://127.0.0.1:8001)',
    );
  }
  const ca = pem(c['certificate-authority-data'], c['certificate-authority'], at(clusterEntry));
  const where = `${origin} (context "${contextName}", user "${userName ?? ''}")`;
  const insecure = c['insecure-skip-tls-verify'] === true;
  const servername = typeof c['tls-server-name'] === 'string' ? c['tls-server-name'] : undefined;
  // What an exec plugin with provideClusterInfo is told (client-go's clientauthentication Cluster).
  const execCluster: ExecCluster = {
    server: String(c.server),
    'tls-server-name': servername,
    'insecure-skip-tls-verify': insecure || undefined,
    'certificate-authority-data': ca?.toString('base64'),
    'disable-compression': c['disable-compression'] === true || undefined,
    config: (c.extensions as { name?: string; extension?: unknown }[] | undefined)?.find(
      (e) => e?.name === 'client.authentication.k8s.io/exec',
    )?.extension,
  };
  return {
    server,
    ca,
    insecure,
    servername,
    credentials: userEntry
      ? userCredentials(userEntry, at(userEntry), options.dirOf?.(userEntry) ?? process.cwd(), execCluster, where)
      : staticCredentials({}),
    origin: where,
  };
}

/** What to use instead of each legacy auth-provider plugin. */
const AUTH_PROVIDER_INSTEAD: Record<string, string> = {
  oidc: 'an exec plugin, e.g. kubelogin (`kubectl oidc-login get-token`)',
  gcp: 'the exec plugin gke-gcloud-auth-plugin (kubectl too needs it since 1.26)',
  azure: 'the exec plugin kubelogin (kubectl too needs it since 1.26)',
};

function userCredentials(
  entry: NamedUser,
  at: (file: string) => string,
  dir: string,
  cluster: ExecCluster,
  where: string,
): CredentialSource {
  const u = entry.user ?? {};
  const unsupported = (what: string, instead: string) =>
    new Error(`${where}: user "${entry.name}" uses ${what}, which Drawbridge does not support; use ${instead}`);
  const impersonation = ['as', 'as-uid', 'as-groups', 'as-user-extra'].find((key) => u[key] !== undefined);
  if (impersonation) {
    throw unsupported(`impersonation (${impersonation})`, "the impersonated identity's own credentials");
  }
  const provider = u['auth-provider'] as { name?: string; config?: Record<string, string> } | undefined;
  // client-node's own in-cluster user reads like this; anything else (oidc, gcp, azure) is a legacy plugin.
  const providerTokenFile = provider?.name === 'tokenFile' ? provider.config?.tokenFile : undefined;
  if (provider && !providerTokenFile) {
    const instead = AUTH_PROVIDER_INSTEAD[provider.name ?? ''] ?? 'an exec plugin (users[].user.exec)';
    throw unsupported(`the auth-provider "${provider.name}"`, instead);
  }
  if (u.exec) {
    return execCredentials(u.exec as ExecConfig, `${where}: exec plugin of user "${entry.name}"`, { dir, cluster });
  }
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

/** The document, or one line saying where the YAML is wrong (js-yaml's own message quotes the lines around it). */
function parseYaml(text: string, path: string): KubeconfigDocument {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (error) {
    const e = error as YAMLException;
    const at = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw new Error(`kubeconfig ${path} is not valid YAML: ${e.reason ?? e.message}${at}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`kubeconfig ${path} is not a YAML mapping`);
  return doc as KubeconfigDocument;
}
