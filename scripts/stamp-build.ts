// Run by `npm run build` after tsc: records the version and git commit the compiled tree was built from in
// dist/build-info.json, so `drawbridge version` can say which commit a packed or installed copy is (a package
// has no .git to ask).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
let commit = process.env.DRAWBRIDGE_COMMIT ?? 'unknown'; // the Dockerfile's build has no .git: it may pass this
try {
  // stderr ignored: outside a checkout git's "not a git repository" is the expected case, handled below.
  commit = execFileSync('git', ['rev-parse', 'HEAD'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  if (dirty.trim() !== '') commit += '-dirty';
} catch {
  // Not a checkout (an image build): keep DRAWBRIDGE_COMMIT or "unknown".
}
writeFileSync(join(root, 'dist/build-info.json'), `${JSON.stringify({ version, commit }, null, 2)}\n`);
console.log(`dist/build-info.json: ${version} ${commit}`);
