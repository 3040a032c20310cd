/** Every sampler that falls back to independent sampling says so through the one warning helper. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sampler } from '../../src/core/sampler.js';
import { CmaEsSampler } from '../../src/samplers/cmaes/cmaes-sampler.js';
import { GPSampler } from '../../src/samplers/gp/gp-sampler.js';
import { QMCSampler } from '../../src/samplers/qmc/qmc-sampler.js';
import { TPESampler } from '../../src/samplers/tpe/tpe-sampler.js';
import { createStudy } from '../../src/study/create.js';
import { captureWarnings } from '../helpers/warnings.js';

const SAMPLERS: Record<string, (quiet: boolean) => Sampler> = {
  tpe: (quiet) =>
    new TPESampler({ seed: 0, multivariate: true, nStartupTrials: 2, warnIndependentSampling: !quiet }),
  gp: (quiet) => new GPSampler({ seed: 0, nStartupTrials: 2, warnIndependentSampling: !quiet }),
  cmaes: (quiet) => new CmaEsSampler({ seed: 0, nStartupTrials: 2, warnIndependentSampling: !quiet }),
  qmc: (quiet) => new QMCSampler({ seed: 0, warnIndependentSampling: !quiet }),
};

describe('warnings', () => {
  for (const [name, make] of Object.entries(SAMPLERS))
    it(`${name}: one INDEPENDENT_SAMPLING warning naming a parameter outside the joint model, none when asked`, async () => {
      const run = (quiet: boolean) =>
        captureWarnings(async () => {
          const study = await createStudy({ sampler: make(quiet) });
          await study.optimize(
            // `late` joins after the first trials, so no joint model can hold it.
            (t) => t.suggestFloat('x', 0, 1) + (t.number >= 4 ? t.suggestFloat('late', 0, 1) : 0),
            { nTrials: 7 },
          );
        });
      const { warnings } = await run(false);
      assert.deepEqual(
        warnings.map((w) => w.code),
        ['INDEPENDENT_SAMPLING'],
      );
      assert.match(warnings[0].message, /"late"/);
      assert.deepEqual((await run(true)).warnings, []);
    });
});
