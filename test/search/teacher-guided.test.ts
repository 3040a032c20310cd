import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadDataset } from '../../src/data/registry.js';
import { fitStandardScaler, splitBundle } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import { buildTfjsModel } from '../../src/models/tfjs/build.js';
import { saveModel } from '../../src/models/tfjs/save.js';
import { runSizeSearch } from '../../src/search/size-search.js';
import { loadStudy } from '../../src/study/create.js';
import { trainingData, trainModel } from '../../src/train/trainer.js';
import { runCliCaptured } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'parsimony-teacher-search-'));
const teacherDir = join(dir, 'teacher');
const seed = 3;

before(async () => {
  // A teacher trained on the search's own split and scaling (digits, 64 standardised features).
  await initBackend();
  const splits = splitBundle(await loadDataset('digits'), { seed, validation: 0.2, test: 0.2 });
  const scaler = fitStandardScaler(splits.train);
  const spec = sequential([64], { name: 'teacher' })
    .add('dense', { units: 64, activation: 'relu' })
    .add('dense', { units: 10, activation: 'softmax' })
    .build();
  const model = await buildTfjsModel(spec, { seed: 1 });
  await trainModel(model, trainingData(scaler.transform(splits.train), [64]), { epochs: 10, seed: 1 });
  await saveModel(model, spec, teacherDir);
  model.dispose();
});

describe('teacher-guided size search', () => {
  it('trains every trial with the distillation loss from the teacher and returns a front', async () => {
    const studyFile = join(dir, 't.db');
    const result = await runSizeSearch({
      trials: 3,
      threads: 1,
      maxEpochs: 4,
      maxUnits: 32,
      seed,
      studyFile,
      studyName: 't',
      teacher: { dir: teacherDir, temperature: 4, alpha: 0.5 },
    });
    assert.equal(result.counts.FAIL, 0, 'no trial failed');
    assert.ok(result.front.length >= 1, 'a front');
    for (const row of result.front)
      assert.ok(row.validationAccuracy > 0.5, `trained: ${row.validationAccuracy}`);
    const study = await loadStudy({ studyName: 't', storage: `sqlite:${studyFile}` });
    assert.equal(study.trials.length, 3);
    await study.storage.close();
  });

  it('searches temperature and alpha as trial parameters, from the CLI too', async () => {
    const studyFile = join(dir, 's.db');
    const r = await runCliCaptured([
      ...['search', '--teacher', teacherDir, '--search-distillation', '--seed', String(seed)],
      ...['--trials', '3', '--threads', '1', '--epochs', '3', '--out', studyFile, '--json', '--quiet'],
    ]);
    assert.equal(r.code, 0, r.err);
    const { studyName } = JSON.parse(r.out) as { studyName: string };
    const study = await loadStudy({ studyName, storage: `sqlite:${studyFile}` });
    try {
      assert.equal(study.trials.length, 3);
      for (const trial of study.trials) {
        const t = trial.params.distillTemperature as number;
        const a = trial.params.distillAlpha as number;
        assert.ok(t >= 1 && t <= 10, `temperature ${t} in [1, 10]`);
        assert.ok(a >= 0 && a <= 1, `alpha ${a} in [0, 1]`);
      }
    } finally {
      await study.storage.close();
    }
    const bad = await runCliCaptured(['search', '--alpha', '0.5', '--out', join(dir, 'z.db')]);
    assert.equal(bad.code, 2, 'a usage error');
    assert.match(bad.err, /--alpha needs --teacher <dir>/);
  });

  it('rejects a missing teacher directory and a bad alpha before any trial', async () => {
    await assert.rejects(
      runSizeSearch({
        trials: 1,
        threads: 1,
        studyFile: join(dir, 'x.db'),
        teacher: { dir: join(dir, 'none') },
      }),
      /not found/,
    );
    await assert.rejects(
      runSizeSearch({
        trials: 1,
        threads: 1,
        studyFile: join(dir, 'y.db'),
        teacher: { dir: teacherDir, alpha: 2 },
      }),
      /alpha must be in \[0, 1\]/,
    );
  });
});
