/** One line of `npm run bench`: a side-by-side ratio from one run, with the raw numbers behind it. */
export interface Figure {
  name: string;
  /** kalium's figure divided by the baseline's (higher is better unless `target` says otherwise), when the figure is a ratio. */
  ratio?: number;
  /** What SPEC §11 asks of the ratio, e.g. '>= 0.8'. */
  target?: string;
  /** The raw measurements, for bench/README.md. */
  detail: string;
}

/** A benchmark file: `bench/<name>.bench.ts` default-exports one of these. */
export type Bench = () => Promise<Figure[]>;
