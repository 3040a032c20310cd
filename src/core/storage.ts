/**
 * The storage contract. Every backend (memory, SQLite, PostgreSQL) implements it and runs the same
 * contract test suite (test/storage/storage-contract.ts). Methods take ids and return frozen records; all are async so
 * network databases fit. Writes to a finished trial are rejected (TRIAL_FINISHED): finished trials
 * are immutable, which lets callers cache them.
 */
import type { Distribution, ParamValue } from './distributions.js';
import type {
  AttrValue,
  FrozenTrial,
  IntermediateValue,
  StudyDirection,
  TrialState,
  TrialTemplate,
} from './frozen-trial.js';

export interface StudySummary {
  readonly studyId: number;
  readonly studyName: string;
  readonly directions: readonly StudyDirection[];
  readonly userAttrs: Readonly<Record<string, AttrValue>>;
  readonly systemAttrs: Readonly<Record<string, AttrValue>>;
  readonly nTrials: number;
  readonly datetimeStart: Date | null;
}

export interface GetTrialsOptions {
  /** Only trials in these states. */
  states?: readonly TrialState[];
}

export interface NextTrialOptions {
  /** Create a new trial only while the study holds fewer trials than this (any state). */
  maxTrials?: number;
  /** Record the trial's first heartbeat with it. */
  heartbeat?: boolean;
}

export interface Storage {
  /** Creates a study; throws DUPLICATED_STUDY when the name is taken. A missing name gets a unique one. */
  createStudy(directions: readonly StudyDirection[], studyName?: string): Promise<number>;
  deleteStudy(studyId: number): Promise<void>;
  renameStudy(studyId: number, newName: string): Promise<void>;
  /** Throws STUDY_NOT_FOUND. */
  getStudyIdFromName(studyName: string): Promise<number>;
  getStudyName(studyId: number): Promise<string>;
  getStudyDirections(studyId: number): Promise<readonly StudyDirection[]>;
  getStudyUserAttrs(studyId: number): Promise<Record<string, AttrValue>>;
  getStudySystemAttrs(studyId: number): Promise<Record<string, AttrValue>>;
  setStudyUserAttr(studyId: number, key: string, value: AttrValue): Promise<void>;
  setStudySystemAttr(studyId: number, key: string, value: AttrValue): Promise<void>;
  /** Atomically sets a study system attribute when absent; true when this call set it. */
  setStudySystemAttrIfAbsent(studyId: number, key: string, value: AttrValue): Promise<boolean>;
  getAllStudies(): Promise<StudySummary[]>;

  /** Creates a trial with the next number; RUNNING unless the template says otherwise. */
  createTrial(studyId: number, template?: TrialTemplate): Promise<FrozenTrial>;
  /**
   * Creates a RUNNING trial only while the study holds fewer than `maxTrials` trials (any state),
   * atomically, so many workers sharing one budget create exactly `maxTrials`; null when full.
   */
  createTrialIfBelow(studyId: number, maxTrials: number): Promise<FrozenTrial | null>;
  /**
   * Atomically moves the oldest WAITING trial of the study to RUNNING and returns it, or null.
   * Two callers never receive the same trial.
   */
  claimWaitingTrial(studyId: number): Promise<FrozenTrial | null>;
  /**
   * What a worker does before every trial, in one step: claims the oldest WAITING trial, or else
   * creates a RUNNING one (only while the study holds fewer than `maxTrials`, when given); with
   * `heartbeat`, records the trial's first heartbeat too. Null when nothing was claimed and the cap
   * is reached. Same guarantees as `claimWaitingTrial` and `createTrialIfBelow`; network backends
   * do it in one round trip, which is most of a trivial trial's cost.
   */
  nextTrial(studyId: number, options?: NextTrialOptions): Promise<FrozenTrial | null>;
  setTrialParam(trialId: number, name: string, value: ParamValue, distribution: Distribution): Promise<void>;
  setTrialIntermediateValue(trialId: number, step: number, value: IntermediateValue): Promise<void>;
  setTrialUserAttr(trialId: number, key: string, value: AttrValue): Promise<void>;
  setTrialSystemAttr(trialId: number, key: string, value: AttrValue): Promise<void>;
  /**
   * Sets a new state (and values for COMPLETE). Returns false, changing nothing, when the trial is
   * already finished or, for RUNNING, no longer WAITING; this is how claims stay exclusive.
   */
  setTrialState(trialId: number, state: TrialState, values?: readonly number[] | null): Promise<boolean>;
  getTrial(trialId: number): Promise<FrozenTrial>;
  /**
   * Deletes one trial (any state) with its parameters, values, attributes and heartbeat; throws
   * TRIAL_NOT_FOUND. The other trials keep their numbers, and a deleted trial's number is never
   * given again (it still counts toward `maxTrials`). Other processes sharing the storage stop
   * returning it at their next `getAllTrials`.
   */
  deleteTrial(trialId: number): Promise<void>;
  /** Marks a RUNNING trial as alive now (workers call this periodically). */
  recordHeartbeat(trialId: number): Promise<void>;
  /**
   * RUNNING trials of the study whose last heartbeat is older than `graceMs` (trials that never
   * sent a heartbeat are not stale: they belong to processes that do not use heartbeats).
   */
  getStaleTrials(studyId: number, graceMs: number): Promise<FrozenTrial[]>;
  getAllTrials(studyId: number, options?: GetTrialsOptions): Promise<FrozenTrial[]>;
  close(): Promise<void>;
}
