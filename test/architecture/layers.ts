// The layering rules of docs/architecture.md, checked against the import graph. Each file belongs to one layer (by
// its path); each layer names the layers it may import. Tests (*.test.ts) are exempt: a test may reach for any
// helper. Everything else, including type-only and literal dynamic imports, must follow the table.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

export type Layer =
  | 'lib'
  | 'contract'
  | 'core'
  | 'speaker'
  | 'commands'
  | 'registry'
  | 'provider'
  | 'metal-model'
  | 'dev';

/** Which layer a repository path belongs to, or null for files outside the layered code (scripts, bin, docs). */
export function layerOf(path: string): Layer | null {
  if (path.startsWith('src/lib/')) return 'lib';
  if (path.startsWith('src/contract/')) return 'contract';
  if (path.startsWith('src/core/')) return 'core';
  if (path.startsWith('src/speaker/')) return 'speaker';
  if (path.startsWith('src/commands/')) return 'commands';
  if (path === 'providers/index.ts') return 'registry';
  if (path.startsWith('providers/metal/model/')) return 'metal-model';
  if (path.startsWith('providers/')) return 'provider';
  if (path.startsWith('test/')) return 'dev';
  return null;
}

/** Who may import whom. A provider may import only its own folder (checked separately) besides these. */
const allowed: Record<Layer, readonly Layer[]> = {
  lib: ['lib'],
  contract: ['lib', 'contract'],
  core: ['lib', 'contract', 'core'],
  'metal-model': ['lib', 'metal-model'],
  provider: ['lib', 'contract', 'provider', 'metal-model'],
  registry: ['contract', 'provider'],
  speaker: ['lib', 'speaker', 'metal-model'],
  commands: ['lib', 'contract', 'core', 'speaker', 'commands', 'registry', 'metal-model'],
  dev: ['lib', 'contract', 'core', 'speaker', 'commands', 'registry', 'provider', 'metal-model', 'dev'],
};

export interface Violation {
  from: string;
  to: string;
  rule: string;
}

export interface ImportEdge {
  from: string;
  to: string;
}

const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\bexport\s+\*\s+from\s+|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Relative imports of one file's source, resolved to repository paths. */
export function importsOf(path: string, source: string): string[] {
  const out: string[] = [];
  for (const match of source.matchAll(SPECIFIER)) {
    out.push(normalize(join(dirname(path), match[1]!)));
  }
  return out;
}

/** The rules applied to a list of edges (paths relative to the repository root). */
export function checkEdges(edges: readonly ImportEdge[]): Violation[] {
  const violations: Violation[] = [];
  for (const { from, to } of edges) {
    if (from.endsWith('.test.ts')) continue;
    const fromLayer = layerOf(from);
    if (fromLayer === null || fromLayer === 'dev') continue;
    const toLayer = layerOf(to);
    if (toLayer === null) {
      violations.push({ from, to, rule: `${fromLayer} imports a file outside the layered code` });
      continue;
    }
    if (to.endsWith('.test.ts')) {
      violations.push({ from, to, rule: 'product code imports a test' });
      continue;
    }
    if (!allowed[fromLayer].includes(toLayer)) {
      violations.push({
        from,
        to,
        rule: `${fromLayer} may import only ${allowed[fromLayer].join(', ')}; not ${toLayer}`,
      });
      continue;
    }
    if (fromLayer === 'provider' && toLayer === 'provider' && providerName(from) !== providerName(to)) {
      violations.push({ from, to, rule: `providers/${providerName(from)} imports another provider` });
    }
  }
  return violations;
}

function providerName(path: string): string {
  return path.split('/')[1]!;
}

/** Every relative import edge of the TypeScript files under the layered folders. */
export function repositoryEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const top of ['src', 'providers']) {
    for (const file of walk(join(root, top))) {
      const path = relative(root, file);
      for (const to of importsOf(path, readFileSync(file, 'utf8'))) edges.push({ from: path, to });
    }
  }
  return edges;
}

/** The files reachable by static and literal dynamic imports from `entries` (repository paths). */
export function reachable(root: string, entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const path = stack.pop()!;
    if (seen.has(path) || !path.endsWith('.ts')) continue;
    seen.add(path);
    let source: string;
    try {
      source = readFileSync(join(root, path), 'utf8');
    } catch {
      continue;
    }
    stack.push(...importsOf(path, source));
  }
  return seen;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'build') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}
