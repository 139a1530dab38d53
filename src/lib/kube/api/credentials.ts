// Who we are to the apiserver, asked before every request: a bearer token, an Authorization header (basic auth)
// and/or a client certificate. File-backed material is re-read once a minute (a projected ServiceAccount token
// rotates hourly, cert-manager rotates certificate files), as client-go does; exec plugins cache until the
// credential's own expiry (exec.ts).
import { readFileSync } from 'node:fs';

export interface Credentials {
  token?: string;
  /** A whole Authorization header (basic auth); a token wins over it. */
  authorization?: string;
  cert?: Buffer;
  key?: Buffer;
}

export interface CredentialSource {
  get(): Promise<Credentials>;
  /** The apiserver answered 401: forget anything cached so the next get() fetches afresh. */
  invalidate(): void;
}

export function staticCredentials(credentials: Credentials): CredentialSource {
  const value = Promise.resolve(credentials);
  return { get: () => value, invalidate: () => {} };
}

export interface FileCredentialOptions extends Credentials {
  tokenFile?: string;
  certFile?: string;
  keyFile?: string;
  /** How long a read is reused (default 60 s). */
  refreshMs?: number;
  now?: () => number;
}

export function fileCredentials(o: FileCredentialOptions): CredentialSource {
  const refreshMs = o.refreshMs ?? 60_000;
  const now = o.now ?? Date.now;
  let cached: { value: Credentials; readAt: number } | undefined;
  const read = (): Credentials => ({
    token: o.tokenFile ? readFileSync(o.tokenFile, 'utf8').trim() : o.token,
    authorization: o.authorization,
    cert: o.certFile ? readFileSync(o.certFile) : o.cert,
    key: o.keyFile ? readFileSync(o.keyFile) : o.key,
  });
  return {
    async get() {
      if (cached === undefined || now() - cached.readAt >= refreshMs) {
        try {
          cached = { value: read(), readAt: now() };
        } catch (error) {
          // A rotation caught mid-write, or the file briefly gone: keep what worked until the next refresh.
          if (cached === undefined) throw error;
        }
      }
      return cached.value;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
