/**
 * What the dashboard keeps per study between requests: the trials as last read, a version that
 * changes whenever anything a page shows changes, and the figures and table orders computed for
 * that version. Reads are throttled (one refresh per study per `refreshMs`), and the storages' own
 * caches make a refresh read only new and unfinished trials, so a 10,000-trial study is not
 * loaded again per request.
 */
import type { FrozenTrial, StudyDirection } from '../core/frozen-trial.js';
import type { StudyInfo, StudyReader } from '../storage/study-reader.js';
import { getStudySummaryData, type StudySummaryData } from '../visualization/summary.js';

export interface StudySnapshot {
  info: StudyInfo;
  trials: readonly FrozenTrial[];
  version: string;
  summary: StudySummaryData;
  /** Results computed for this version (figures, sorted orders), by key. */
  memo: Map<string, unknown>;
}

/** A short fingerprint of everything that can change in a study's trials. */
export function trialsVersion(trials: readonly FrozenTrial[]): string {
  let h = 2166136261;
  const mix = (n: number) => {
    h ^= n & 0xffffffff;
    h = Math.imul(h, 16777619) >>> 0;
  };
  let finished = 0;
  for (const t of trials) {
    if (t.state === 'COMPLETE' || t.state === 'PRUNED' || t.state === 'FAIL') {
      finished++;
      continue;
    }
    // Unfinished trials change in place: their state, reports and attributes count.
    mix(t.number);
    mix(t.state.length + t.state.charCodeAt(0));
    mix(Object.keys(t.intermediateValues).length);
    mix(Object.keys(t.params).length);
    mix(Object.keys(t.userAttrs).length + Object.keys(t.systemAttrs).length);
  }
  return `${trials.length}.${finished}.${h.toString(36)}`;
}

function attrsVersion(attrs: Record<string, unknown>): string {
  const text = JSON.stringify(attrs);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

export class StudyCache {
  private readonly snapshots = new Map<string, { at: number; snapshot: StudySnapshot }>();
  private readonly pending = new Map<string, Promise<StudySnapshot>>();

  constructor(
    private readonly reader: StudyReader,
    private readonly refreshMs = 1000,
  ) {}

  /** The study as of at most `refreshMs` ago; throws STUDY_NOT_FOUND. */
  async get(name: string): Promise<StudySnapshot> {
    const cached = this.snapshots.get(name);
    if (cached && Date.now() - cached.at < this.refreshMs) return cached.snapshot;
    const inFlight = this.pending.get(name);
    if (inFlight) return inFlight;
    const load = this.load(name, cached?.snapshot).finally(() => this.pending.delete(name));
    this.pending.set(name, load);
    return load;
  }

  private async load(name: string, previous: StudySnapshot | undefined): Promise<StudySnapshot> {
    const info = await this.reader.study(name);
    const trials = await this.reader.trials(info.studyId);
    // Notes and tags live in the study's user attributes: a change to them is a new version too.
    const version = `${trialsVersion(trials)}.${attrsVersion(info.userAttrs)}`;
    let snapshot: StudySnapshot;
    if (previous && previous.version === version && previous.info.studyId === info.studyId)
      snapshot = previous;
    else
      snapshot = {
        info,
        trials,
        version,
        summary: getStudySummaryData(trials, info.directions as StudyDirection[]),
        memo: new Map(),
      };
    this.snapshots.set(name, { at: Date.now(), snapshot });
    return snapshot;
  }

  /** Drops what is kept for a study, so the next request reads it again (after a write). */
  forget(name: string): void {
    this.snapshots.delete(name);
  }

  /** A value computed once per study version. */
  static memo<T>(snapshot: StudySnapshot, key: string, compute: () => T): T {
    if (snapshot.memo.has(key)) return snapshot.memo.get(key) as T;
    const value = compute();
    snapshot.memo.set(key, value);
    return value;
  }
}
