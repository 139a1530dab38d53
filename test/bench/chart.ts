// Services served over time for each burst size, one panel per size, one line per provider: hand-written SVG so
// the bench needs no charting dependency and the file diffs as text.
import type { Result } from './result.ts';

const PANEL_W = 360;
const PANEL_H = 220;
const MARGIN = { left: 56, right: 16, top: 34, bottom: 40 };
const COLORS: Record<string, string> = { metal: '#1f77b4', fake: '#d62728' };
/** At most this many points per line: a 10,000-Service burst stays a small file. */
const MAX_POINTS = 200;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `v`. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1e-9)));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/** The step curve of served count against time, thinned to MAX_POINTS. */
function points(servedAt: number[]): [number, number][] {
  const step = Math.max(1, Math.ceil(servedAt.length / MAX_POINTS));
  const out: [number, number][] = [[0, 0]];
  servedAt.forEach((ms, i) => {
    if (i % step === step - 1 || i === servedAt.length - 1) out.push([ms / 1000, i + 1]);
  });
  return out;
}

function panel(n: number, runs: Result[], x0: number): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const tMax = niceMax(Math.max(...runs.map((r) => (r.servedAt?.at(-1) ?? 0) / 1000)));
  const sx = (t: number) => x0 + MARGIN.left + (t / tMax) * w;
  const sy = (c: number) => MARGIN.top + h - (c / n) * h;
  const parts = [
    `<text x="${x0 + PANEL_W / 2}" y="18" text-anchor="middle" font-weight="bold">burst of ${n.toLocaleString('en')}</text>`,
    `<rect x="${sx(0)}" y="${MARGIN.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
  ];
  for (const f of [0, 0.5, 1]) {
    parts.push(`<text x="${sx(0) - 6}" y="${sy(f * n) + 4}" text-anchor="end">${Math.round(f * n)}</text>`);
    parts.push(`<text x="${sx(f * tMax)}" y="${MARGIN.top + h + 16}" text-anchor="middle">${f * tMax} s</text>`);
  }
  runs.forEach((r, i) => {
    const d = points(r.servedAt ?? [])
      .map(([t, c], j) => `${j === 0 ? 'M' : 'L'}${sx(t).toFixed(1)},${sy(c).toFixed(1)}`)
      .join(' ');
    const color = COLORS[r.provider] ?? '#555';
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(
      `<text x="${sx(0) + 8}" y="${MARGIN.top + 14 + i * 14}" fill="${color}">${esc(r.provider)}: ` +
        `${Number(r.figures.time_to_all_served_s ?? 0).toFixed(1)} s to all served</text>`,
    );
  });
  parts.push(
    `<text x="${x0 + MARGIN.left + w / 2}" y="${PANEL_H - 6}" text-anchor="middle">time since first create</text>`,
  );
  return parts.join('\n');
}

export function burstChart(bursts: Result[]): string {
  const sizes = [...new Set(bursts.map((r) => r.n))].sort((a, b) => a - b);
  const width = PANEL_W * sizes.length;
  const panels = sizes.map((n, i) =>
    panel(
      n,
      bursts.filter((r) => r.n === n),
      i * PANEL_W,
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${PANEL_H}" viewBox="0 0 ${width} ${PANEL_H}" font-family="sans-serif" font-size="11">`,
    '<title>Services served over time after a burst of creates (npm run bench)</title>',
    `<rect width="${width}" height="${PANEL_H}" fill="white"/>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
