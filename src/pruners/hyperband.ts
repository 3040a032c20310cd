/**
 * Hyperband (Li et al. 2018) over asynchronous successive halving, as Optuna runs it: each trial
 * is assigned to one bracket, every bracket is an SH pruner with its own first rung, and the
 * sampler of a trial sees only the trials of its bracket (so TPE + Hyperband behaves as BOHB).
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { FrozenTrial } from '../core/frozen-trial.js';
import type { Pruner } from '../core/pruner.js';
import type { StudyView } from '../core/study-view.js';
import { checkInteger, directionSign, filterView, firstCompletedWithSteps } from './internal.js';
import { paretoRule } from './pareto-successive-halving.js';
import { type PromotionRule, pruneAtRungs, type RungSettings } from './rungs.js';
import { topFractionRule } from './successive-halving.js';

export interface HyperbandPrunerOptions {
  /** Steps before the first rung of the most aggressive bracket (default 1). */
  minResource?: number;
  /**
   * Steps a trial runs in full. 'auto' (default) waits for a completed trial and uses its last
   * step + 1; until then nothing is pruned and the sampler sees every trial.
   */
  maxResource?: number | 'auto';
  /** eta (default 3). */
  reductionFactor?: number;
  /** As in `SuccessiveHalvingPruner`; needs a numeric maxResource (default 0). */
  bootstrapCount?: number;
}

interface Brackets {
  maxResource: number;
  /** Relative number of trials each bracket gets, most aggressive bracket first. */
  budgets: number[];
  total: number;
}

/**
 * With R = maxResource / minResource there are floor(log_eta R) + 1 brackets. Bracket b is SH with
 * minEarlyStoppingRate b, so its first rung is at minResource * eta^b: bracket 0 prunes hardest,
 * the last bracket hardly at all. With n brackets and s = n - 1 - b, bracket b receives a share
 * ceil(n * eta^s / (s + 1)) of the trials (Hyperband's n_i per bracket). A trial's bracket is
 * CRC-32 of "<study name>_<trial number>" modulo the total share, walked through the brackets in
 * order: it depends on nothing else, so every process and every run agrees, and it matches
 * Optuna's assignment for the same study name.
 *
 * Single-objective studies use SH's top-1/eta rule in every bracket; multi-objective studies use
 * the Pareto rule of `ParetoSuccessiveHalvingPruner` (ranks, then hypervolume).
 *
 * 'auto' maxResource is read from the completed trial with the lowest number, so it is fixed as
 * soon as it is known and the brackets never move afterwards.
 */
export class HyperbandPruner implements Pruner {
  readonly minResource: number;
  readonly maxResource: number | 'auto';
  readonly reductionFactor: number;
  readonly bootstrapCount: number;
  private cached: Brackets | null = null;

  constructor(options: HyperbandPrunerOptions = {}) {
    this.minResource = checkInteger('minResource', options.minResource ?? 1, 1);
    const maxResource = options.maxResource ?? 'auto';
    if (maxResource !== 'auto') {
      checkInteger('maxResource', maxResource, 1);
      if (maxResource < this.minResource)
        throw new InvalidArgumentError(
          `maxResource (${maxResource}) must be >= minResource (${this.minResource})`,
        );
    }
    this.maxResource = maxResource;
    this.reductionFactor = checkInteger('reductionFactor', options.reductionFactor ?? 3, 2);
    this.bootstrapCount = checkInteger('bootstrapCount', options.bootstrapCount ?? 0, 0);
    if (this.bootstrapCount > 0 && maxResource === 'auto')
      throw new InvalidArgumentError("bootstrapCount > 0 needs a numeric maxResource, not 'auto'");
    if (maxResource !== 'auto') this.cached = this.makeBrackets(maxResource);
  }

  prune(view: StudyView, trial: FrozenTrial): boolean {
    const brackets = this.brackets(view);
    if (brackets === undefined) return false;
    const bracket = bracketIndex(brackets, view.studyName, trial.number);
    const settings: RungSettings = {
      minResource: this.minResource,
      reductionFactor: this.reductionFactor,
      minEarlyStoppingRate: bracket,
      bootstrapCount: this.bootstrapCount,
    };
    const rule: PromotionRule =
      view.directions.length === 1
        ? topFractionRule(directionSign(view.directions[0]))
        : paretoRule(view.directions);
    return pruneAtRungs(this.bracketView(view, brackets, bracket), trial, settings, rule);
  }

  restrictSamplerView(view: StudyView, trial: FrozenTrial): StudyView {
    const brackets = this.brackets(view);
    if (brackets === undefined) return view;
    return this.bracketView(view, brackets, bracketIndex(brackets, view.studyName, trial.number));
  }

  /** Number of brackets, or undefined while an 'auto' maxResource is not known yet. */
  nBrackets(view: StudyView): number | undefined {
    return this.brackets(view)?.budgets.length;
  }

  /** The bracket of a trial (0 = most aggressive), or undefined while 'auto' maxResource is unknown. */
  bracketOf(view: StudyView, trialNumber: number): number | undefined {
    const brackets = this.brackets(view);
    return brackets === undefined ? undefined : bracketIndex(brackets, view.studyName, trialNumber);
  }

  private bracketView(view: StudyView, brackets: Brackets, bracket: number): StudyView {
    return filterView(view, (t) => bracketIndex(brackets, view.studyName, t.number) === bracket);
  }

  private brackets(view: StudyView): Brackets | undefined {
    if (this.cached !== null && this.maxResource !== 'auto') return this.cached;
    // 'auto': derived from the view every time (one pruner object may serve several studies), cached by value.
    const first = firstCompletedWithSteps(view);
    if (first === undefined) return undefined;
    const maxResource = Math.max(first.lastStep + 1, this.minResource);
    if (this.cached === null || this.cached.maxResource !== maxResource)
      this.cached = this.makeBrackets(maxResource);
    return this.cached;
  }

  private makeBrackets(maxResource: number): Brackets {
    // floor(log_eta(max / min)) + 1, counted with integers to avoid log rounding at exact powers.
    let n = 1;
    while (this.minResource * this.reductionFactor ** n <= maxResource) n++;
    const budgets: number[] = [];
    for (let b = 0; b < n; b++) {
      const s = n - 1 - b;
      budgets.push(Math.ceil((n * this.reductionFactor ** s) / (s + 1)));
    }
    return { maxResource, budgets, total: budgets.reduce((a, b) => a + b, 0) };
  }
}

/** CRC-32 of trial keys; the bracket filter hashes every trial of the study on each sampler call. */
const keyHashes = new Map<string, number>();

function bracketIndex(brackets: Brackets, studyName: string, trialNumber: number): number {
  const key = `${studyName}_${trialNumber}`;
  let hash = keyHashes.get(key);
  if (hash === undefined) {
    if (keyHashes.size >= 100_000) keyHashes.clear();
    hash = crc32(key);
    keyHashes.set(key, hash);
  }
  let n = hash % brackets.total;
  for (let b = 0; b < brackets.budgets.length; b++) {
    n -= brackets.budgets[b];
    if (n < 0) return b;
  }
  return brackets.budgets.length - 1;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, as zlib) of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
