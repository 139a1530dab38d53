// What one process costs, read straight from /proc (Linux only): resident memory and CPU time. Read from outside the
// process, so the measurement neither runs in nor disturbs the process measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (100 on every common Linux, but ask). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...), as MB. */
function statusMb(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** Resident set size now, MB. */
export function rssMb(pid: number): number {
  return statusMb(pid, 'VmRSS');
}

/** The highest resident set size the process has had so far (the kernel's high-water mark), MB. */
export function rssHighWaterMb(pid: number): number {
  return statusMb(pid, 'VmHWM');
}

/** User + system CPU time the process has used so far, ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * Resident memory by kind of mapping, MB, from /proc/<pid>/smaps: `file` (the node binary, shared libraries: code),
 * `brk` (the [heap] segment: small malloc allocations), `anon` (anonymous mmaps: V8's heap pages, large malloc
 * chunks, thread arenas), `other` (stacks, vdso). Tells native growth apart from JS heap growth.
 */
export function rssByMapping(pid: number): Record<string, number> {
  const totals: Record<string, number> = { file: 0, brk: 0, anon: 0, other: 0 };
  let kind = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1] ?? '';
      kind = name === '' ? 'anon' : name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals[kind] = (totals[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  for (const k of Object.keys(totals)) totals[k] = Math.round(totals[k] ?? 0);
  return totals;
}
