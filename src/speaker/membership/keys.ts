// The membership key files: a mounted Secret (deploy/ creates it with a random value), the key that signs and an
// optional second one that is also accepted, for rotation (docs/speaker-security.md). The kubelet updates a mounted
// Secret in place, so the files are read again every few seconds: a rotation needs no restart, and a restart would
// move the addresses the speaker holds.
import { readFileSync } from 'node:fs';
import { type Keyring, MIN_KEY_BYTES } from './auth.ts';

export interface KeyFiles {
  file: string;
  /** Also accepted; a missing file means no second key (the Secret has no `previous` entry). */
  alsoFile?: string;
}

/** Reads the keys; throws one line saying what is wrong. */
export function readKeyring(files: KeyFiles): Keyring {
  const sign = readKey(files.file, true)!;
  const also = files.alsoFile === undefined ? undefined : readKey(files.alsoFile, false);
  return also === undefined || also.equals(sign) ? { sign } : { sign, also };
}

function readKey(path: string, required: boolean): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the membership key ${path}: ${(error as Error).message}`);
  }
  // A key written with `echo` or an editor ends with a newline that is not part of it.
  const key = Buffer.from(raw.toString('latin1').trimEnd(), 'latin1');
  if (key.length === 0 && !required) return undefined;
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(`the membership key ${path} has ${key.length} bytes; it needs at least ${MIN_KEY_BYTES}`);
  }
  return key;
}

export interface KeyWatch {
  current(): Keyring;
  stop(): void;
}

/**
 * The keys, read now (throwing if they cannot be) and again every `intervalMs`. A read that fails later keeps the
 * keys in use (a Secret being rewritten must not stop the membership) and is reported through `onError`;
 * `onChange` is called when the keys change.
 */
export function watchKeyring(
  files: KeyFiles,
  onChange: () => void,
  onError: (error: Error) => void,
  intervalMs = 5000,
): KeyWatch {
  let keys = readKeyring(files);
  const timer = setInterval(() => {
    try {
      const next = readKeyring(files);
      if (next.sign.equals(keys.sign) && sameOptional(next.also, keys.also)) return;
      keys = next;
      onChange();
    } catch (error) {
      onError(error as Error);
    }
  }, intervalMs);
  timer.unref();
  return { current: () => keys, stop: () => clearInterval(timer) };
}

function sameOptional(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
