import type { FrozenTrial } from '../core/frozen-trial.js';
import type { NextTrialOptions, Storage } from '../core/storage.js';

/** `nextTrial` composed from the other methods, for backends where one step gains nothing. */
export async function composeNextTrial(
  storage: Storage,
  studyId: number,
  options: NextTrialOptions = {},
): Promise<FrozenTrial | null> {
  const trial =
    (await storage.claimWaitingTrial(studyId)) ??
    (options.maxTrials === undefined
      ? await storage.createTrial(studyId)
      : await storage.createTrialIfBelow(studyId, options.maxTrials));
  if (trial !== null && options.heartbeat) await storage.recordHeartbeat(trial.trialId);
  return trial;
}
