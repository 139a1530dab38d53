// The bench's output: one line per scenario, `bench scenario=<name> provider=<p> n=<N> key=value ...`, so runs can
// be compared with grep and diff.
export type Value = number | string;

export interface Result {
  scenario: string;
  provider: string;
  n: number;
  figures: Record<string, Value>;
  /** Services served over time (ms since the first create), for the chart; bursts only. */
  servedAt?: number[];
}

/** Figures are rounded to what the noise of a shared machine leaves meaningful. */
function show(v: Value): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function formatResult(r: Result): string {
  const figures = Object.entries(r.figures).map(([k, v]) => `${k}=${show(v)}`);
  return ['bench', `scenario=${r.scenario}`, `provider=${r.provider}`, `n=${r.n}`, ...figures].join(' ');
}

/** Per-Service figure, guarding n = 0. */
export const per = (value: number, n: number): number => (n > 0 ? value / n : 0);
