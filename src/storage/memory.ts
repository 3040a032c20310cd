/** In-process storage: the default for `createStudy()` without a storage URL. */
import { checkDistributionCompatibility, type Distribution, type ParamValue } from '../core/distributions.js';
import {
  DuplicatedStudyError,
  StudyNotFoundError,
  TrialFinishedError,
  TrialNotFoundError,
} from '../core/errors.js';
import {
  type AttrValue,
  type FrozenTrial,
  freezeTrial,
  type IntermediateValue,
  isFinished,
  type StudyDirection,
  type TrialState,
  type TrialTemplate,
} from '../core/frozen-trial.js';
import type { GetTrialsOptions, NextTrialOptions, Storage, StudySummary } from '../core/storage.js';
import { composeNextTrial } from './next-trial.js';

interface MutableTrial {
  trialId: number;
  number: number;
  state: TrialState;
  values: number[] | null;
  params: Record<string, ParamValue>;
  distributions: Record<string, Distribution>;
  userAttrs: Record<string, AttrValue>;
  systemAttrs: Record<string, AttrValue>;
  intermediateValues: Record<number, IntermediateValue>;
  datetimeStart: Date | null;
  datetimeComplete: Date | null;
  /** Frozen copy handed out; rebuilt only after a write, so finished trials are shared, not copied. */
  frozen: FrozenTrial | null;
}

interface StudyRecord {
  studyId: number;
  name: string;
  directions: StudyDirection[];
  userAttrs: Record<string, AttrValue>;
  systemAttrs: Record<string, AttrValue>;
  trials: MutableTrial[];
  /** The next trial's number: numbers of deleted trials are not given again. */
  nextNumber: number;
  /** The first distribution each parameter name had in the study; later ones must be compatible. */
  paramDistributions: Map<string, Distribution>;
}

export class InMemoryStorage implements Storage {
  private readonly studies = new Map<number, StudyRecord>();
  private readonly trials = new Map<number, { study: StudyRecord; trial: MutableTrial }>();
  private nextStudyId = 0;
  private nextTrialId = 0;
  private readonly heartbeats = new Map<number, number>();

  async createStudy(directions: readonly StudyDirection[], studyName?: string): Promise<number> {
    const name = studyName ?? `study-${this.nextStudyId}-${Date.now().toString(36)}`;
    for (const s of this.studies.values())
      if (s.name === name) throw new DuplicatedStudyError(`a study named "${name}" already exists`);
    const studyId = this.nextStudyId++;
    this.studies.set(studyId, {
      studyId,
      name,
      directions: [...directions],
      userAttrs: {},
      systemAttrs: {},
      trials: [],
      nextNumber: 0,
      paramDistributions: new Map(),
    });
    return studyId;
  }

  async deleteStudy(studyId: number): Promise<void> {
    const study = this.study(studyId);
    for (const t of study.trials) this.trials.delete(t.trialId);
    this.studies.delete(studyId);
  }

  async renameStudy(studyId: number, newName: string): Promise<void> {
    const study = this.study(studyId);
    for (const s of this.studies.values())
      if (s.name === newName && s !== study)
        throw new DuplicatedStudyError(`a study named "${newName}" already exists`);
    study.name = newName;
  }

  async getStudyIdFromName(studyName: string): Promise<number> {
    for (const s of this.studies.values()) if (s.name === studyName) return s.studyId;
    throw new StudyNotFoundError(`no study named "${studyName}"`);
  }

  async getStudyName(studyId: number): Promise<string> {
    return this.study(studyId).name;
  }

  async getStudyDirections(studyId: number): Promise<readonly StudyDirection[]> {
    return [...this.study(studyId).directions];
  }

  async getStudyUserAttrs(studyId: number): Promise<Record<string, AttrValue>> {
    return structuredClone(this.study(studyId).userAttrs);
  }

  async getStudySystemAttrs(studyId: number): Promise<Record<string, AttrValue>> {
    return structuredClone(this.study(studyId).systemAttrs);
  }

  async setStudyUserAttr(studyId: number, key: string, value: AttrValue): Promise<void> {
    this.study(studyId).userAttrs[key] = structuredClone(value);
  }

  async setStudySystemAttr(studyId: number, key: string, value: AttrValue): Promise<void> {
    this.study(studyId).systemAttrs[key] = structuredClone(value);
  }

  async setStudySystemAttrIfAbsent(studyId: number, key: string, value: AttrValue): Promise<boolean> {
    const attrs = this.study(studyId).systemAttrs;
    if (key in attrs) return false;
    attrs[key] = structuredClone(value);
    return true;
  }

  async getAllStudies(): Promise<StudySummary[]> {
    return [...this.studies.values()].map((s) => ({
      studyId: s.studyId,
      studyName: s.name,
      directions: [...s.directions],
      userAttrs: structuredClone(s.userAttrs),
      systemAttrs: structuredClone(s.systemAttrs),
      nTrials: s.trials.length,
      datetimeStart: s.trials[0]?.datetimeStart ?? null,
    }));
  }

  async createTrial(studyId: number, template: TrialTemplate = {}): Promise<FrozenTrial> {
    const study = this.study(studyId);
    const state = template.state ?? 'RUNNING';
    const trial: MutableTrial = {
      trialId: this.nextTrialId++,
      number: study.nextNumber++,
      state,
      values: template.values ? [...template.values] : null,
      params: { ...template.params },
      distributions: { ...template.distributions },
      userAttrs: structuredClone(template.userAttrs ?? {}),
      systemAttrs: structuredClone(template.systemAttrs ?? {}),
      intermediateValues: structuredClone(template.intermediateValues ?? {}),
      datetimeStart: template.datetimeStart ?? (state === 'WAITING' ? null : new Date()),
      datetimeComplete: template.datetimeComplete ?? (isFinished(state) ? new Date() : null),
      frozen: null,
    };
    for (const [name, d] of Object.entries(trial.distributions))
      if (!study.paramDistributions.has(name)) study.paramDistributions.set(name, d);
    study.trials.push(trial);
    this.trials.set(trial.trialId, { study, trial });
    return this.freeze(trial);
  }

  async createTrialIfBelow(studyId: number, maxTrials: number): Promise<FrozenTrial | null> {
    if (this.study(studyId).nextNumber >= maxTrials) return null;
    return this.createTrial(studyId);
  }

  nextTrial(studyId: number, options?: NextTrialOptions): Promise<FrozenTrial | null> {
    return composeNextTrial(this, studyId, options);
  }

  async claimWaitingTrial(studyId: number): Promise<FrozenTrial | null> {
    const study = this.study(studyId);
    for (const trial of study.trials) {
      if (trial.state === 'WAITING') {
        trial.state = 'RUNNING';
        trial.datetimeStart = new Date();
        trial.frozen = null;
        return this.freeze(trial);
      }
    }
    return null;
  }

  async setTrialParam(
    trialId: number,
    name: string,
    value: ParamValue,
    distribution: Distribution,
  ): Promise<void> {
    const { study } = this.entry(trialId);
    const trial = this.writable(trialId);
    const known = study.paramDistributions.get(name);
    if (known) checkDistributionCompatibility(name, known, distribution);
    else study.paramDistributions.set(name, distribution);
    trial.params[name] = value;
    trial.distributions[name] = distribution;
  }

  async setTrialIntermediateValue(trialId: number, step: number, value: IntermediateValue): Promise<void> {
    const trial = this.writable(trialId);
    trial.intermediateValues[step] = Array.isArray(value) ? [...value] : value;
  }

  async setTrialUserAttr(trialId: number, key: string, value: AttrValue): Promise<void> {
    this.writable(trialId).userAttrs[key] = structuredClone(value);
  }

  async setTrialSystemAttr(trialId: number, key: string, value: AttrValue): Promise<void> {
    this.writable(trialId).systemAttrs[key] = structuredClone(value);
  }

  async setTrialState(
    trialId: number,
    state: TrialState,
    values?: readonly number[] | null,
  ): Promise<boolean> {
    const trial = this.entry(trialId).trial;
    if (isFinished(trial.state)) return false;
    if (state === 'RUNNING' && trial.state !== 'WAITING') return false;
    trial.state = state;
    if (values !== undefined) trial.values = values === null ? null : [...values];
    if (state === 'RUNNING') trial.datetimeStart = new Date();
    if (isFinished(state)) trial.datetimeComplete = new Date();
    trial.frozen = null;
    return true;
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    return this.freeze(this.entry(trialId).trial);
  }

  async recordHeartbeat(trialId: number): Promise<void> {
    const trial = this.entry(trialId).trial;
    if (trial.state === 'RUNNING') this.heartbeats.set(trialId, Date.now());
  }

  async getStaleTrials(studyId: number, graceMs: number): Promise<FrozenTrial[]> {
    const now = Date.now();
    return this.study(studyId)
      .trials.filter((t) => {
        const beat = this.heartbeats.get(t.trialId);
        return t.state === 'RUNNING' && beat !== undefined && now - beat > graceMs;
      })
      .map((t) => this.freeze(t));
  }

  async getAllTrials(studyId: number, options: GetTrialsOptions = {}): Promise<FrozenTrial[]> {
    const study = this.study(studyId);
    const states = options.states;
    const out: FrozenTrial[] = [];
    for (const t of study.trials) if (!states || states.includes(t.state)) out.push(this.freeze(t));
    return out;
  }

  async close(): Promise<void> {}

  async deleteTrial(trialId: number): Promise<void> {
    const { study, trial } = this.entry(trialId);
    study.trials = study.trials.filter((t) => t !== trial);
    this.trials.delete(trialId);
    this.heartbeats.delete(trialId);
  }

  private study(studyId: number): StudyRecord {
    const study = this.studies.get(studyId);
    if (!study) throw new StudyNotFoundError(`no study with id ${studyId}`);
    return study;
  }

  private entry(trialId: number): { study: StudyRecord; trial: MutableTrial } {
    const entry = this.trials.get(trialId);
    if (!entry) throw new TrialNotFoundError(`no trial with id ${trialId}`);
    return entry;
  }

  private writable(trialId: number): MutableTrial {
    const trial = this.entry(trialId).trial;
    if (isFinished(trial.state))
      throw new TrialFinishedError(`trial ${trial.number} is already ${trial.state} and cannot be changed`);
    trial.frozen = null;
    return trial;
  }

  private freeze(trial: MutableTrial): FrozenTrial {
    if (trial.frozen) return trial.frozen;
    trial.frozen = freezeTrial({
      trialId: trial.trialId,
      number: trial.number,
      state: trial.state,
      values: trial.values ? [...trial.values] : null,
      params: { ...trial.params },
      distributions: { ...trial.distributions },
      userAttrs: structuredClone(trial.userAttrs),
      systemAttrs: structuredClone(trial.systemAttrs),
      intermediateValues: { ...trial.intermediateValues },
      datetimeStart: trial.datetimeStart,
      datetimeComplete: trial.datetimeComplete,
    });
    return trial.frozen;
  }
}
