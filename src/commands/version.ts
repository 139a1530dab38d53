// `drawbridge version`: the package version and the commit it was built from: dist/build-info.json when running
// the compiled tree (stamped by `npm run build`), else asked of git when running from a checkout's sources.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

export interface VersionInfo {
  version: string;
  commit: string;
}

export function versionInfo(): VersionInfo {
  // From src/commands/ or dist/src/commands/, the package root is two or three levels up; the first package.json found is ours.
  const candidates = ['../../', '../../../'].map((up) => new URL(up, import.meta.url));
  const root = candidates.find((dir) => existsSync(new URL('package.json', dir))) ?? candidates[0];
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  const stamped = new URL('dist/build-info.json', root);
  if (import.meta.url.includes('/dist/') && existsSync(stamped)) {
    return JSON.parse(readFileSync(stamped, 'utf8')) as VersionInfo;
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: fileURLToPath(root as URL),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // Not a checkout and not built: say so rather than guess.
  }
  return { version: pkg.version, commit };
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the Drawbridge version and the git commit it was built from')
    .action(() => {
      const { version, commit } = versionInfo();
      process.stdout.write(`drawbridge ${version} (commit ${commit})\n`);
    });
}
