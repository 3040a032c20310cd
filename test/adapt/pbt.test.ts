import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type Pb2Observation, pb2Choose } from '../../src/adapt/pb2.js';
import {
  exploreHyperparameters,
  latinHypercubeHyperparameters,
  PBT_SCHEDULE_ATTR,
  type PbtMemberSnapshot,
  type PbtRoundEvent,
  type PbtSchedule,
  type PbtSetup,
  type PbtSpace,
  pbtMlpSpec,
  replayPbtSchedule,
  runPbt,
  sampleHyperparameters,
} from '../../src/adapt/pbt.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { loadDigits } from '../../src/data/digits.js';
import { fitStandardScaler, trainValTestSplit } from '../../src/data/transforms.js';
import { initBackend } from '../../src/models/backends/index.js';
import { sequential } from '../../src/models/spec/builder.js';
import { createStudy } from '../../src/study/create.js';
import { trainingData } from '../../src/train/trainer.js';

const SPACE: PbtSpace = {
  learningRate: { low: 1e-3, high: 5e-2 },
  weightDecay: { low: 1e-5, high: 1e-2 },
  dropout: { low: 0, high: 0.4 },
  augmentation: { low: 0, high: 0.5 },
  batchSize: [32, 64, 128],
};

let setup: PbtSetup;

before(async () => {
  await initBackend({ backend: 'cpu' });
  const splits = trainValTestSplit(loadDigits(), { seed: 0 });
  const scaler = fitStandardScaler(splits.train);
  const image = [8, 8, 1];
  setup = {
    train: trainingData(scaler.transform(splits.train), image),
    validation: trainingData(scaler.transform(splits.validation), image),
    buildSpec: (hp) => pbtMlpSpec(image, 10, [16], hp.dropout),
    space: SPACE,
    epochsPerRound: 1,
  };
});

function within(hp: Record<string, number>, space: PbtSpace): void {
  for (const key of ['learningRate', 'weightDecay', 'dropout', 'augmentation'] as const) {
    const range = space[key];
    if (range)
      assert.ok(
        hp[key] >= range.low && hp[key] <= range.high,
        `${key} ${hp[key]} outside [${range.low}, ${range.high}]`,
      );
  }
  assert.ok(space.batchSize?.includes(hp.batchSize), `batch size ${hp.batchSize} not a choice`);
}

describe('population-based training', () => {
  it('explore stays within the bounds and scales by 0.8 or 1.2 when it does not resample', () => {
    const rng = new Random(3);
    let hp = sampleHyperparameters(SPACE, rng.fork('start'));
    let scaled = 0;
    for (let i = 0; i < 300; i++) {
      const next = exploreHyperparameters(hp, SPACE, rng.fork(i), 0);
      within(next as unknown as Record<string, number>, SPACE);
      const ratio = next.learningRate / hp.learningRate;
      const clipped =
        next.learningRate === SPACE.learningRate?.low || next.learningRate === SPACE.learningRate?.high;
      if (!clipped) {
        assert.ok(Math.abs(ratio - 0.8) < 1e-9 || Math.abs(ratio - 1.2) < 1e-9, `ratio ${ratio}`);
        scaled++;
      }
      hp = exploreHyperparameters(next, SPACE, rng.fork(`r${i}`), 0.5);
      within(hp as unknown as Record<string, number>, SPACE);
    }
    assert.ok(scaled > 100, `only ${scaled} unclipped scalings`);
  });

  it('starts the population as a Latin hypercube: one member per stratum of every range', async () => {
    const population = 12;
    const members = latinHypercubeHyperparameters(SPACE, population, new Random(5));
    assert.equal(members.length, population, 'one set of values per member');
    for (const hp of members) within(hp as unknown as Record<string, number>, SPACE);
    const strata = (values: number[], low: number, high: number, log: boolean) =>
      values
        .map((v) => {
          const u = log ? Math.log(v / low) / Math.log(high / low) : (v - low) / (high - low);
          return Math.min(population - 1, Math.floor(u * population));
        })
        .sort((a, b) => a - b);
    const every = Array.from({ length: population }, (_, i) => i);
    for (const key of ['learningRate', 'weightDecay', 'dropout', 'augmentation'] as const) {
      const range = SPACE[key] as { low: number; high: number };
      const log = key === 'learningRate' || key === 'weightDecay';
      assert.deepEqual(
        strata(
          members.map((m) => m[key]),
          range.low,
          range.high,
          log,
        ),
        every,
        `${key}: every stratum holds exactly one member`,
      );
    }
    for (const size of SPACE.batchSize ?? [])
      assert.equal(members.filter((m) => m.batchSize === size).length, 4, `batch size ${size} dealt evenly`);
    // The strata are paired at random: another seed gives other pairs.
    const other = latinHypercubeHyperparameters(SPACE, population, new Random(6));
    assert.notDeepEqual(
      other.map((m) => m.learningRate),
      members.map((m) => m.learningRate),
      'the design depends on the seed',
    );
    // runPbt starts from it by default; 'random' draws independently.
    const starts = async (initialDesign?: 'random') => {
      const study = await createStudy({ direction: 'maximize' });
      await runPbt({
        ...setup,
        population: 4,
        rounds: 1,
        seed: 2,
        study,
        ...(initialDesign ? { initialDesign } : {}),
      });
      return (await study.getTrials()).map((t) => t.params.learningRate as number);
    };
    const lhs = await starts();
    assert.deepEqual(
      strata(lhs, 1e-3, 5e-2, true).map((s) => Math.floor(s / 3)),
      [0, 1, 2, 3],
      `runPbt's default start covers every quarter of the learning rates: ${lhs.join(', ')}`,
    );
    assert.notDeepEqual(await starts('random'), lhs, 'initialDesign random draws other values');
  });

  it('exploits by copying weights exactly, records schedules that replay exactly, and differs by seed', async () => {
    const storage = 'memory:';
    const study = await createStudy({ direction: 'maximize', storage, studyName: 'pbt-test' });
    const events: PbtRoundEvent[] = [];
    const result = await runPbt({
      ...setup,
      population: 4,
      rounds: 3,
      seed: 7,
      study,
      onRound: (e) => events.push(e),
    });
    assert.equal(result.totalEpochs, 12, 'total epochs');
    // Exploit: after each round but the last, the replaced member holds its source's trained weights.
    let exploits = 0;
    for (let round = 0; round < 2; round++) {
      const trained = events.find((e) => e.round === round && e.phase === 'trained');
      const exploited = events.find((e) => e.round === round && e.phase === 'exploited');
      assert.ok(trained && exploited, `events of round ${round}`);
      for (const after of exploited.members) {
        const own: PbtMemberSnapshot = trained.members[after.member];
        if (after.copiedFrom === undefined) {
          assert.deepEqual(after.weights, own.weights, `member ${after.member} kept its weights`);
          continue;
        }
        exploits++;
        const source: PbtMemberSnapshot = trained.members[after.copiedFrom];
        assert.notEqual(after.copiedFrom, after.member, 'copies another member');
        assert.ok(source.valAccuracy >= own.valAccuracy, 'copies a better member');
        assert.equal(after.weights.length, source.weights.length, 'tensor count');
        for (let i = 0; i < source.weights.length; i++)
          assert.deepEqual(after.weights[i], source.weights[i], `tensor ${i} copied exactly`);
        assert.notDeepEqual(after.weights, own.weights, 'the copied weights replace its own');
        within(after.hyperparameters as unknown as Record<string, number>, SPACE);
      }
    }
    assert.equal(exploits, 2, 'one member (25% of 4) replaced after each of 2 rounds');
    // The study holds every member as a finished trial with per-round values and its schedule.
    const trials = await study.getTrials();
    assert.equal(trials.length, 4, 'one trial per member');
    for (const t of trials) {
      assert.equal(t.state, 'COMPLETE', `trial ${t.number} complete`);
      assert.deepEqual(Object.keys(t.intermediateValues).map(Number), [0, 1, 2], 'a value per round');
      const schedule = t.userAttrs[PBT_SCHEDULE_ATTR] as PbtSchedule;
      assert.equal(schedule.steps.length, 3, 'a step per round');
    }
    // Replay of the best member reproduces its final accuracy and weights exactly.
    const best = result.members[result.best];
    assert.ok(best.valAccuracy > 0.5, `best accuracy ${best.valAccuracy}`);
    const replay = await replayPbtSchedule(best.schedule, setup);
    assert.equal(replay.valAccuracy, best.valAccuracy, 'replayed accuracy');
    for (let i = 0; i < best.weights.length; i++)
      assert.deepEqual(replay.weights[i], best.weights[i], `replayed tensor ${i}`);
    // A member that copied another replays along its lineage too.
    const copier = result.members.find((m) => m.schedule.steps.some((s) => s.copiedFrom !== undefined));
    assert.ok(copier, 'a member with a copy in its lineage');
    const copierReplay = await replayPbtSchedule(copier.schedule, setup);
    assert.equal(copierReplay.valAccuracy, copier.valAccuracy, 'replayed lineage accuracy');

    const other = await runPbt({
      ...setup,
      population: 4,
      rounds: 3,
      seed: 8,
      study: await createStudy({ direction: 'maximize' }),
    });
    assert.notDeepEqual(
      other.members.map((m) => m.schedule),
      result.members.map((m) => m.schedule),
      'another seed gives other schedules',
    );
    assert.notDeepEqual(
      other.members[0].weights,
      result.members[0].weights,
      'another seed gives other weights',
    );
  });

  it('trains members of a user spec (a small CNN) in worker threads with the same result as in one thread', async () => {
    const cnn = sequential([8, 8, 1], { name: 'pbt-cnn' })
      .add('conv2d', { filters: 4, kernelSize: 3, activation: 'relu' })
      .add('flatten')
      .add('dropout', { rate: 0 })
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
    const { buildSpec: _unused, ...rest } = setup;
    const specSetup: PbtSetup = { ...rest, spec: cnn };
    const run = async (threads: number) =>
      runPbt({
        ...specSetup,
        population: 4,
        rounds: 2,
        seed: 5,
        threads,
        study: await createStudy({ direction: 'maximize' }),
      });
    const inThread = await run(1);
    const threaded = await run(2);
    assert.deepEqual(
      threaded.members.map((m) => m.schedule),
      inThread.members.map((m) => m.schedule),
      'same schedules with 2 threads',
    );
    for (const [i, m] of threaded.members.entries())
      assert.deepEqual(m.weights, inThread.members[i].weights, `member ${i}: same weights with 2 threads`);
    const best = threaded.members[threaded.best];
    assert.equal(best.schedule.optimizerState, 'carried', 'the optimizer state is carried by default');
    const replay = await replayPbtSchedule(best.schedule, specSetup);
    assert.equal(replay.valAccuracy, best.valAccuracy, 'replayed accuracy of the threaded best member');
    await assert.rejects(
      runPbt({
        ...setup,
        population: 2,
        rounds: 1,
        threads: 2,
        study: await createStudy({ direction: 'maximize' }),
      }),
      /threads > 1 need the network as spec/,
    );
  });

  it('PB2 explore picks values where the rewards were high, stays in bounds and replays exactly', async () => {
    // Rewards peak at x = 0.8 on a dense grid of 3 rounds: the upper bound is highest near there.
    const observations: Pb2Observation[] = [];
    for (let round = 1; round <= 3; round++)
      for (let i = 0; i <= 20; i++) {
        const x = i / 20;
        observations.push({ round, x: [x], reward: Math.exp(-((x - 0.8) ** 2) / 0.02) });
      }
    const [choice] = pb2Choose(observations, [[0.1]], 3, new Random(1));
    assert.ok(Math.abs(choice[0] - 0.8) < 0.15, `PB2 chose ${choice[0]}, the peak is at 0.8`);

    const result = await runPbt({
      ...setup,
      population: 4,
      rounds: 3,
      seed: 2,
      explore: 'pb2',
      study: await createStudy({ direction: 'maximize' }),
    });
    for (const m of result.members) {
      within(m.hyperparameters as unknown as Record<string, number>, SPACE);
      for (const step of m.schedule.steps)
        within(step.hyperparameters as unknown as Record<string, number>, SPACE);
    }
    const best = result.members[result.best];
    const replay = await replayPbtSchedule(best.schedule, setup);
    assert.equal(replay.valAccuracy, best.valAccuracy, 'replayed accuracy of the PB2 best member');
    await assert.rejects(
      runPbt({
        ...setup,
        population: 2,
        rounds: 1,
        explore: 'bayes' as 'pb2',
        study: await createStudy({ direction: 'maximize' }),
      }),
      /explore must be/,
    );
  });

  it('rejects bad input with a one-line error naming the field', async () => {
    const study = await createStudy({ direction: 'maximize' });
    await assert.rejects(runPbt({ ...setup, population: 1, rounds: 2, study }), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError && /population/.test(e.message), String(e));
      return true;
    });
    await assert.rejects(
      runPbt({ ...setup, space: { dropout: { low: 0.5, high: 0.1 } }, population: 2, rounds: 1, study }),
      /space\.dropout/,
    );
    const flat = { ...setup, train: { ...setup.train, shape: [64] } };
    await assert.rejects(runPbt({ ...flat, population: 2, rounds: 1, study }), /augmentation needs images/);
    await assert.rejects(
      runPbt({ ...setup, population: 2, rounds: 1, study, initialDesign: 'sobol' as 'random' }),
      /initialDesign/,
    );
    assert.equal((await study.getTrials()).length, 0, 'nothing written');
  });
});
