import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CategoricalDistribution, FloatDistribution, IntDistribution } from '../../src/core/distributions.js';
import type { FrozenTrial } from '../../src/core/frozen-trial.js';
import type { Storage } from '../../src/core/storage.js';
import { copyStudy } from '../../src/storage/copy.js';
import { InMemoryStorage } from '../../src/storage/memory.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir('copy');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A study with one trial in every state and every kind of data. */
async function fillStudy(s: Storage, name: string): Promise<number> {
  const id = await s.createStudy(['minimize', 'maximize'], name);
  await s.setStudyUserAttr(id, 'dataset', 'digits');
  await s.setStudySystemAttr(id, 'sampler', { name: 'tpe', seed: 3 });
  const x = new FloatDistribution(-1, 1);
  const n = new IntDistribution(1, 64, { log: true });
  const act = new CategoricalDistribution(['relu', 'tanh', false]);
  const complete = await s.createTrial(id);
  await s.setTrialParam(complete.trialId, 'x', 0.25, x);
  await s.setTrialParam(complete.trialId, 'n', 16, n);
  await s.setTrialParam(complete.trialId, 'act', false, act);
  await s.setTrialIntermediateValue(complete.trialId, 0, [1, 2]);
  await s.setTrialUserAttr(complete.trialId, 'note', 'first, "quoted"');
  await s.setTrialSystemAttr(complete.trialId, 'constraints', [-1]);
  await s.setTrialState(complete.trialId, 'COMPLETE', [0.5, Number.POSITIVE_INFINITY]);
  const pruned = await s.createTrial(id);
  await s.setTrialParam(pruned.trialId, 'x', -0.5, x);
  await s.setTrialIntermediateValue(pruned.trialId, 0, [3, 1]);
  await s.setTrialIntermediateValue(pruned.trialId, 1, [2, 1]);
  await s.setTrialState(pruned.trialId, 'PRUNED', [2, 1]);
  const failed = await s.createTrial(id);
  await s.setTrialSystemAttr(failed.trialId, 'failReason', 'boom');
  await s.setTrialState(failed.trialId, 'FAIL');
  await s.createTrial(id, { state: 'WAITING', systemAttrs: { fixedParams: { x: 0.1 } } });
  const running = await s.createTrial(id);
  await s.setTrialParam(running.trialId, 'act', 'tanh', act);
  return id;
}

/** A trial without its storage-specific id, comparable across storages. */
function comparable(t: FrozenTrial) {
  return {
    number: t.number,
    state: t.state,
    values: t.values,
    params: t.params,
    paramOrder: Object.keys(t.params),
    distributions: Object.fromEntries(Object.entries(t.distributions).map(([k, d]) => [k, d.getConfig()])),
    userAttrs: t.userAttrs,
    systemAttrs: t.systemAttrs,
    intermediateValues: t.intermediateValues,
    datetimeStart: t.datetimeStart?.getTime() ?? null,
    datetimeComplete: t.datetimeComplete?.getTime() ?? null,
  };
}

describe('copyStudy', () => {
  it('copies a study and every trial between memory and SQLite, both ways', async () => {
    const memory = new InMemoryStorage();
    const id = await fillStudy(memory, 'source');
    const original = (await memory.getAllTrials(id)).map(comparable);
    const path = join(dir, 'copy.db');

    const toFile = await copyStudy({ from: memory, to: `sqlite:${path}`, studyName: 'source' });
    assert.deepEqual([toFile.studyName, toFile.nTrials], ['source', 5]);

    const back = new InMemoryStorage();
    const result = await copyStudy({
      from: `sqlite:${path}`,
      to: back,
      studyName: 'source',
      toStudyName: 'again',
    });
    const copyId = await back.getStudyIdFromName('again');
    assert.equal(result.studyId, copyId);
    assert.deepEqual((await back.getAllTrials(copyId)).map(comparable), original);
    assert.deepEqual(await back.getStudyDirections(copyId), ['minimize', 'maximize']);
    assert.deepEqual(await back.getStudyUserAttrs(copyId), { dataset: 'digits' });
    assert.deepEqual(await back.getStudySystemAttrs(copyId), { sampler: { name: 'tpe', seed: 3 } });

    // The file copy holds the same trials too, and a WAITING trial there can still be claimed.
    const file = new SqliteStorage(path);
    const fileId = await file.getStudyIdFromName('source');
    assert.deepEqual((await file.getAllTrials(fileId)).map(comparable), original);
    assert.equal((await file.claimWaitingTrial(fileId))?.number, 3);
    await file.close();
  });

  it('refuses to overwrite an existing study and copies within one storage under a new name', async () => {
    const s = new SqliteStorage(join(dir, 'same.db'));
    await fillStudy(s, 'a');
    await assert.rejects(copyStudy({ from: s, to: s, studyName: 'a' }), { code: 'DUPLICATED_STUDY' });
    await assert.rejects(copyStudy({ from: s, to: s, studyName: 'nope', toStudyName: 'b' }), {
      code: 'STUDY_NOT_FOUND',
    });
    await copyStudy({ from: s, to: s, studyName: 'a', toStudyName: 'b' });
    const [a, b] = await Promise.all(
      ['a', 'b'].map(async (n) => s.getAllTrials(await s.getStudyIdFromName(n))),
    );
    assert.deepEqual(b.map(comparable), a.map(comparable));
    await s.close();
  });

  it('removes a half-made copy when the destination fails', async () => {
    const source = new InMemoryStorage();
    await fillStudy(source, 'src');
    const target = new InMemoryStorage();
    let created = 0;
    const flaky = Object.create(target) as InMemoryStorage;
    flaky.createTrial = async (studyId, template) => {
      if (++created > 2) throw new Error('disk full');
      return target.createTrial(studyId, template);
    };
    await assert.rejects(copyStudy({ from: source, to: flaky, studyName: 'src' }), /disk full/);
    assert.deepEqual(await target.getAllStudies(), []);
  });
});
