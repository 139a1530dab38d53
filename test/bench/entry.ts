// Which build of the controller a bench runs. `dist` (the default) is what the container image and the npm package
// run: `npm run build` first, then `DRAWBRIDGE_ENTRY=dist` makes bin/drawbridge.js load dist/ in this checkout.
// `src` runs the TypeScript sources through Node's type stripper, as `node bin/drawbridge.js` does in a checkout:
// about 20 MB more resident memory and more start-up work, none of which a deployed controller pays.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Entry = 'dist' | 'src';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function parseEntry(value: string | undefined): Entry {
  if (value === undefined || value === 'dist') return 'dist';
  if (value === 'src') return 'src';
  throw new Error(`--entry must be dist or src, not ${JSON.stringify(value)}`);
}

/** Builds dist/ when the bench runs it, so a bench never measures a stale build. */
export function prepareEntry(entry: Entry, log: (message: string) => void): void {
  if (entry === 'src') return;
  log('npm run build (the bench runs the compiled controller; --entry src runs the sources)');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status ?? build.signal})`);
}

/** The checkout's built packet-socket addon: dist/ has no native/ beside it, so (as the image does) we say where. */
const ADDON = fileURLToPath(new URL('../../src/speaker/native/build/Release/packet_socket.node', import.meta.url));

/** The environment for a controller or speaker process started through bin/drawbridge.js. */
export function entryEnv(entry: Entry): NodeJS.ProcessEnv {
  const addon = entry === 'dist' ? { DRAWBRIDGE_PACKET_SOCKET_ADDON: ADDON } : {};
  return { ...process.env, DRAWBRIDGE_ENTRY: entry, ...addon };
}
