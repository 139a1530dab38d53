// `node test/bench/heap-summary.ts <file.heapsnapshot> [top]`: where a heap snapshot's bytes are, by constructor
// (or node type for strings, code, arrays): count and self size. Enough to compare two readings of the bench
// (`--heapsnapshot-signal`) without opening DevTools.
import { readFile } from 'node:fs/promises';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot> [top]');
const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
  number,
  number,
  number,
];
const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += fields.length) {
  const type = types[snap.nodes[i + typeAt] as number] ?? '?';
  // Objects group by constructor name; everything else (strings, code, arrays, hidden) by type.
  const key = type === 'object' ? (snap.strings[snap.nodes[i + nameAt] as number] ?? '?') : `(${type})`;
  const size = snap.nodes[i + sizeAt] as number;
  total += size;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(key, g);
}
console.log(`total self size ${(total / 2 ** 20).toFixed(1)} MB`);
for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(topArg ?? 25))) {
  console.log(`${(g.bytes / 2 ** 20).toFixed(2).padStart(8)} MB ${String(g.count).padStart(9)}  ${key}`);
}
