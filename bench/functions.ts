/**
 * The benchmark functions of the shared anchor suite (`../shared/anchors/functions.py` from the repository root), ported
 * term for term so that Parsimony's and Optuna's runs optimise the same objectives over the same
 * bounds. All are minimised; zdt1/zdt2 return two objectives. `test/bench/functions.test.ts` checks
 * the port against the Python file itself.
 */

export type Point = readonly number[];

interface ProblemBase {
  readonly name: string;
  readonly lower: readonly number[];
  readonly upper: readonly number[];
  readonly dims: number;
}

export interface SingleObjectiveProblem extends ProblemBase {
  readonly nObjectives: 1;
  readonly fn: (x: Point) => number;
  /** The known global minimum. */
  readonly optimum: number;
}

export interface MultiObjectiveProblem extends ProblemBase {
  readonly nObjectives: 2;
  readonly fn: (x: Point) => [number, number];
  readonly optimum: null;
}

export type BenchProblem = SingleObjectiveProblem | MultiObjectiveProblem;

export function branin(x: Point): number {
  const a = 1;
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const r = 6;
  const s = 10;
  const t = 1 / (8 * Math.PI);
  return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * Math.cos(x[0]) + s;
}

const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];

export function hartmann6(x: Point): number {
  let total = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += H6_A[i][j] * (x[j] - H6_P[i][j] * 1e-4) ** 2;
    total -= H6_ALPHA[i] * Math.exp(-inner);
  }
  return total;
}

export function rosenbrock(x: Point): number {
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) sum += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  return sum;
}

export function ackley(x: Point): number {
  const d = x.length;
  let s1 = 0;
  let s2 = 0;
  for (const v of x) s1 += v * v;
  for (const v of x) s2 += Math.cos(2 * Math.PI * v);
  s1 /= d;
  s2 /= d;
  return -20 * Math.exp(-0.2 * Math.sqrt(s1)) - Math.exp(s2) + 20 + Math.E;
}

export function levy(x: Point): number {
  const w = x.map((v) => 1 + (v - 1) / 4);
  const head = Math.sin(Math.PI * w[0]) ** 2;
  let mid = 0;
  for (let i = 0; i < w.length - 1; i++)
    mid += (w[i] - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i] + 1) ** 2);
  const last = w[w.length - 1];
  const tail = (last - 1) ** 2 * (1 + Math.sin(2 * Math.PI * last) ** 2);
  return head + mid + tail;
}

export function styblinskiTang(x: Point): number {
  let sum = 0;
  for (const v of x) sum += v ** 4 - 16 * v ** 2 + 5 * v;
  return sum / 2;
}

function zdtG(x: Point): number {
  let sum = 0;
  for (let i = 1; i < x.length; i++) sum += x[i];
  return 1 + (9 * sum) / (x.length - 1);
}

export function zdt1(x: Point): [number, number] {
  const f1 = x[0];
  const g = zdtG(x);
  return [f1, g * (1 - Math.sqrt(f1 / g))];
}

export function zdt2(x: Point): [number, number] {
  const f1 = x[0];
  const g = zdtG(x);
  return [f1, g * (1 - (f1 / g) ** 2)];
}

const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

function single(
  name: string,
  lower: number[],
  upper: number[],
  fn: (x: Point) => number,
  optimum: number,
): SingleObjectiveProblem {
  return { name, lower, upper, dims: lower.length, fn, optimum, nObjectives: 1 };
}

function double(
  name: string,
  lower: number[],
  upper: number[],
  fn: (x: Point) => [number, number],
): MultiObjectiveProblem {
  return { name, lower, upper, dims: lower.length, fn, optimum: null, nObjectives: 2 };
}

/** The suite in the Python file's order; names are the ones `optuna_suite.py --problems` takes. */
export const SUITE: readonly BenchProblem[] = [
  single('branin-2d', [-5, 0], [10, 15], branin, 0.397887),
  single('hartmann-6d', fill(6, 0), fill(6, 1), hartmann6, -3.32237),
  single('rosenbrock-5d', fill(5, -5), fill(5, 10), rosenbrock, 0.0),
  single('ackley-5d', fill(5, -32.768), fill(5, 32.768), ackley, 0.0),
  single('levy-5d', fill(5, -10), fill(5, 10), levy, 0.0),
  single('styblinski-tang-8d', fill(8, -5), fill(8, 5), styblinskiTang, -39.16599 * 8),
  double('zdt1-10d', fill(10, 0), fill(10, 1), zdt1),
  double('zdt2-10d', fill(10, 0), fill(10, 1), zdt2),
];

export function getProblem(name: string): BenchProblem {
  const problem = SUITE.find((p) => p.name === name);
  if (!problem) throw new Error(`unknown problem "${name}"; known: ${SUITE.map((p) => p.name).join(', ')}`);
  return problem;
}
