/**
 * Low-rank factorisation and knowledge distillation on Fashion-MNIST (issue 14, sections 2 and 4).
 *
 *   node --import tsx bench/compression-lowrank.ts [--sections lowrank,distill] [--epochs 5]
 *        [--param-ratio 0.25] [--finetune-epochs 2]
 *        [--teacher-epochs 20] [--teacher-shift 0.1] [--teacher-dir DIR] [--student mlp-50]
 *        [--student-epochs 20] [--configs 1:0.5,2:0.3,2:0.5,2:0.7,3:0.5] [--seeds 0,1]
 *        [--train-subset 10000] [--learning-rate 0.001] [--teacher lenet5|conv-bn] [--teacher-flip]
 *        [--schedule constant|cosine] [--student-shift 0] [--student-flip]
 *
 * Data: pixels / 255, test = the 10,000 test images, batch 128, Adam; the lowrank section trains on
 * all 60,000 training images (validation = the first 5,000 of them, not compared). Accuracy is on the model loaded back from what
 * `compressModel` stored.
 *
 * Section `lowrank`: LeNet-300-100 trained dense (--epochs), then its first layer (784x300)
 * factorised by truncated SVD at the largest rank whose factors hold at most --param-ratio of
 * the layer's weights (0.25: at least 4x fewer), then --finetune-epochs of fine-tuning.
 * Target: at most 0.5 point test-accuracy loss against the dense model.
 *
 * Section `distill`: a LeNet-5 teacher (431,080 parameters; trained --teacher-epochs, with
 * --teacher-shift > 0 on randomly shifted images under a cosine learning rate, or loaded from
 * --teacher-dir, where a trained one is saved for later runs) and a student spec (--student:
 * mlp-50 = 784-50-10, 39,760 parameters, 10.8x fewer; mlp-32; cnn-tiny). The first 5,000 training
 * images are held out as validation; teacher and students train on the same other images (the
 * first --train-subset of them; 55000 for all). --teacher-shift 0 trains the teacher plainly
 * (constant learning rate). For each seed the student is trained alone (alpha = 1:
 * labels only; and with each mixup a configuration uses, so the baseline has the same inputs) and
 * with distillation for each T:alpha[:mixup] of --configs, the same epochs, learning rate, batch and
 * data order. The distilled configuration is chosen by validation accuracy, against the better
 * alone row by validation. Target: distillation at least 1 point above the student alone on test.
 * --teacher conv-bn: 3x3 conv + batch norm 16-16-pool-32-32-pool, dense 256 (420,794 parameters),
 * --teacher-flip adds left-right flips to its shifts. --schedule applies to every student row;
 * --student-shift/--student-flip augment every student row, the teacher labelling the augmented
 * batch (function matching), and add a row of the student alone without augmentation.
 */
import { existsSync } from 'node:fs';
import { compressModel } from '../src/compress/compress.js';
import type { CompressionData } from '../src/compress/method.js';
import {
  loadModelWeights,
  type ModelWeights,
  readModelWeights,
  saveModelWeights,
} from '../src/compress/model-weights.js';
import { initBackend } from '../src/models/backends/index.js';
import { countParams } from '../src/models/complexity/analyze.js';
import { sequential } from '../src/models/spec/builder.js';
import type { ModelSpec } from '../src/models/spec/types.js';
import { buildTfjsModel } from '../src/models/tfjs/build.js';
import { lenet5, lenet300100 } from '../src/models/zoo/lenet.js';
import { evaluate, type TrainingData, trainModel } from '../src/train/trainer.js';
import { BenchArgs } from './lib/args.js';
import { loadFashionData, trainDense } from './lib/fashion-lenet.js';
import { pct } from './lib/table.js';

const args = new BenchArgs(
  [
    'sections',
    'epochs',
    'param-ratio',
    'finetune-epochs',
    'teacher-epochs',
    'teacher-shift',
    'teacher-dir',
    'student',
    'student-epochs',
    'configs',
    'seeds',
    'train-subset',
    'learning-rate',
    'teacher',
    'schedule',
    'student-shift',
  ],
  ['teacher-flip', 'student-flip'],
);
const sections = args.string('sections', 'lowrank,distill').split(',');
for (const s of sections) if (s !== 'lowrank' && s !== 'distill') throw new Error(`unknown section ${s}`);

const STUDENTS: Record<string, () => ModelSpec> = {
  'mlp-50': () =>
    sequential([28, 28, 1], { name: 'mlp-50' })
      .add('flatten')
      .add('dense', { units: 50, activation: 'relu' })
      .add('dense', { units: 10, activation: 'softmax' })
      .build(),
  'mlp-32': () =>
    sequential([28, 28, 1], { name: 'mlp-32' })
      .add('flatten')
      .add('dense', { units: 32, activation: 'relu' })
      .add('dense', { units: 10, activation: 'softmax' })
      .build(),
  'cnn-tiny': () =>
    sequential([28, 28, 1], { name: 'cnn-tiny' })
      .add('conv2d', { filters: 8, kernelSize: 5, activation: 'relu' })
      .add('maxPool2d', { poolSize: 2 })
      .add('conv2d', { filters: 16, kernelSize: 5, activation: 'relu' })
      .add('maxPool2d', { poolSize: 2 })
      .add('flatten')
      .add('dense', { units: 10, activation: 'softmax' })
      .build(),
};

/** Teachers (--teacher): LeNet-5, or a conv-BN network (3x3 convolutions with batch norm, 16-16-pool-32-32-pool, dense 256). */
const TEACHERS: Record<string, () => ModelSpec> = {
  lenet5: () => lenet5(),
  'conv-bn': () => {
    const model = sequential([28, 28, 1], { name: 'conv-bn' });
    for (const [filters, pool] of [
      [16, false],
      [16, true],
      [32, false],
      [32, true],
    ] as const) {
      model
        .add('conv2d', { filters, kernelSize: 3, padding: 'same' })
        .add('batchNorm')
        .add('activation', { activation: 'relu' });
      if (pool) model.add('maxPool2d', { poolSize: 2 });
    }
    return model
      .add('flatten')
      .add('dense', { units: 256, activation: 'relu' })
      .add('dense', { units: 10, activation: 'softmax' })
      .build();
  },
};

const pts = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;

async function trainDenseWeights(
  spec: ModelSpec,
  data: CompressionData,
  epochs: number,
  seed: number,
): Promise<ModelWeights> {
  const { weights } = await trainDense(
    spec,
    { train: data.train },
    {
      epochs,
      seed,
      onEpoch: (m) =>
        console.error(
          `  ${spec.name} epoch ${m.epoch + 1}/${epochs}: train ${pct(m.accuracy)} (${m.seconds.toFixed(0)} s)`,
        ),
    },
  );
  return weights;
}

/** The teacher trained with shift augmentation and a cosine learning rate (Adam 1e-3, batch 128, seed 0). */
async function trainAugmentedTeacher(
  spec: ModelSpec,
  train: TrainingData,
  epochs: number,
  shift: number,
  flip: boolean,
): Promise<ModelWeights> {
  const model = await buildTfjsModel(spec, { seed: 0 });
  try {
    await trainModel(model, train, {
      epochs,
      batchSize: 128,
      optimizer: { type: 'adam', learningRate: 1e-3 },
      schedule: { type: 'cosine', period: epochs },
      augmentation: { shift, ...(flip ? { horizontalFlip: true } : {}) },
      seed: 0,
      onEpoch: (m) =>
        console.error(
          `  ${spec.name} epoch ${m.epoch + 1}/${epochs}: train ${pct(m.accuracy)} (${m.seconds.toFixed(0)} s)`,
        ),
    });
    return readModelWeights(model, spec);
  } finally {
    model.dispose();
  }
}

async function testAccuracy(weights: ModelWeights, test: TrainingData): Promise<number> {
  const { buildModelWithWeights } = await import('../src/compress/model-weights.js');
  const model = await buildModelWithWeights(weights);
  try {
    return (await evaluate(model, test)).accuracy;
  } finally {
    model.dispose();
  }
}

async function lowRankSection(data: CompressionData): Promise<void> {
  const epochs = args.count('epochs', 5);
  const ratio = Number(args.string('param-ratio', '0.25'));
  const finetune = args.count('finetune-epochs', 2);
  const spec = lenet300100();
  const first = spec.layers.find((l) => l.type === 'dense')?.name as string;
  console.error(`lowrank: training LeNet-300-100 dense, ${epochs} epochs`);
  const dense = await trainDenseWeights(spec, data, epochs, 0);
  const denseTest = await testAccuracy(dense, data.test as TrainingData);
  const { report } = await compressModel({
    base: dense,
    recipe: [
      { method: 'lowrank', options: { layers: [first], paramRatio: ratio, finetuneEpochs: finetune } },
    ],
    data,
    seed: 0,
    onProgress: (p) => console.error(`  ${p.step}: ${p.message}`),
  });
  const layer = (
    report.steps[0].details?.layers as unknown as {
      rank: number;
      weightsBefore: number;
      weightsAfter: number;
      keptEnergy: number;
    }[]
  )?.[0];
  if (!layer) throw new Error('the lowrank step reported no layer');
  const before = layer.weightsBefore + 300;
  const after = layer.weightsAfter + 300;
  const loss = denseTest - (report.result.testAccuracy ?? 0);
  console.log('\n## Low-rank: LeNet-300-100, first layer (784x300) by truncated SVD\n');
  console.log(`dense: ${epochs} epochs, test ${pct(denseTest)}`);
  console.log(
    `rank ${layer.rank} (kept energy ${(100 * layer.keptEnergy).toFixed(1)}%): first layer ${before.toLocaleString('en-US')} -> ${after.toLocaleString('en-US')} parameters (${(before / after).toFixed(2)}x fewer; weights ${(layer.weightsBefore / layer.weightsAfter).toFixed(2)}x)`,
  );
  console.log(
    `model ${report.base.params.toLocaleString('en-US')} -> ${report.result.params.toLocaleString('en-US')} parameters`,
  );
  console.log(
    `validation before fine-tuning ${pct(report.steps[0].details?.valAccuracyBeforeFineTuning as number)}; after ${finetune} fine-tuning epochs: test ${pct(report.result.testAccuracy ?? 0)} (stored model), loss ${(100 * loss).toFixed(2)} points`,
  );
  const met = before / after >= 4 && loss <= 0.005;
  console.log(`target (>= 4x fewer in the layer, <= 0.5 point loss): ${met ? 'met' : 'MISSED'}`);
}

async function distillSection(data: CompressionData): Promise<void> {
  const teacherEpochs = args.count('teacher-epochs', 20);
  // A teacher trained on shifted images is less sure of the training images themselves, so its
  // soft labels on them say more than the labels do (one trained on them plainly nearly repeats them).
  const teacherShift = Number(args.string('teacher-shift', '0.1'));
  const studentName = args.string('student', 'mlp-50');
  const studentEpochs = args.count('student-epochs', 20);
  const teacherName = args.string('teacher', 'lenet5');
  const teacherFlip = args.flag('teacher-flip');
  const makeTeacher = TEACHERS[teacherName];
  if (!makeTeacher) throw new Error(`--teacher: one of ${Object.keys(TEACHERS).join(', ')}`);
  // Every student row (alone and distilled) gets the same learning-rate schedule and augmentation.
  const schedule = args.string('schedule', 'constant');
  if (schedule !== 'constant' && schedule !== 'cosine') throw new Error('--schedule: constant or cosine');
  const studentShift = Number(args.string('student-shift', '0'));
  const studentFlip = args.flag('student-flip');
  const augmentation =
    studentShift > 0 || studentFlip
      ? {
          ...(studentShift > 0 ? { shift: studentShift } : {}),
          ...(studentFlip ? { horizontalFlip: true } : {}),
        }
      : undefined;
  const lr = Number(args.string('learning-rate', '0.001'));
  const seeds = args.string('seeds', '0,1').split(',').map(Number);
  // T:alpha[:mixup]; a mixup concentration makes the teacher label the mixed images (function matching).
  const configs = args
    .string('configs', '1:0.5,2:0.3,2:0.5,2:0.7,3:0.5')
    .split(',')
    .map((c) => {
      const [t, a, m] = c.split(':').map(Number);
      return { temperature: t, alpha: a, mixup: m };
    });
  const make = STUDENTS[studentName];
  if (!make) throw new Error(`--student: one of ${Object.keys(STUDENTS).join(', ')}`);
  // Validation (the first 5,000 training images) is held out from everyone's training; teacher and
  // students train on the same images (the first --train-subset of the other 55,000).
  const held = 5000;
  const available = data.train.labels.length - held;
  const count = Math.min(args.count('train-subset', 10000), available);
  const train: TrainingData = {
    ...data.train,
    x: data.train.x.subarray(held * 784, (held + count) * 784),
    labels: data.train.labels.subarray(held, held + count),
  };
  const split: CompressionData = {
    train,
    validation: {
      ...data.train,
      x: data.train.x.subarray(0, held * 784),
      labels: data.train.labels.subarray(0, held),
    },
    test: data.test,
  };
  const teacherDir = args.has('teacher-dir') ? args.string('teacher-dir', '') : undefined;
  let teacher: ModelWeights;
  if (teacherDir && existsSync(teacherDir)) {
    teacher = await loadModelWeights(teacherDir);
    console.error(
      `distill: teacher loaded from ${teacherDir} (it must have been trained on the same images)`,
    );
  } else {
    console.error(
      `distill: training the ${teacherName} teacher, ${teacherEpochs} epochs${teacherShift ? `, shift ${teacherShift}${teacherFlip ? ', flips' : ''}, cosine learning rate` : ''}`,
    );
    teacher = teacherShift
      ? await trainAugmentedTeacher(makeTeacher(), split.train, teacherEpochs, teacherShift, teacherFlip)
      : await trainDenseWeights(makeTeacher(), split, teacherEpochs, 0);
    if (teacherDir) await saveModelWeights(teacher, teacherDir);
  }
  const teacherTest = await testAccuracy(teacher, data.test as TrainingData);
  const student = make();
  console.log(
    `\n## Distillation: ${teacher.spec.name} teacher, student trained alone vs with distillation\n`,
  );
  console.log(
    `teacher ${teacher.spec.name}: ${countParams(teacher.spec).toLocaleString('en-US')} parameters, test ${pct(teacherTest)}; student ${studentName}: ${countParams(student).toLocaleString('en-US')} parameters (${(countParams(teacher.spec) / countParams(student)).toFixed(1)}x fewer)`,
  );
  console.log(
    `teacher and students train on the same ${count.toLocaleString('en-US')} images (validation: 5,000 held out); students ${studentEpochs} epochs, Adam ${lr} (${schedule} learning rate), batch 128${augmentation ? `, augmentation ${JSON.stringify(augmentation)} for every student row` : ''}; seeds ${seeds.join(', ')}`,
  );
  const run = async (options: Record<string, unknown>, seed: number) => {
    const { report } = await compressModel({
      base: teacher,
      recipe: [
        {
          method: 'distill',
          options: { student, epochs: studentEpochs, learningRate: lr, schedule, ...options },
        },
      ],
      data: split,
      seed,
    });
    return { val: report.result.valAccuracy ?? 0, test: report.result.testAccuracy ?? 0 };
  };
  // The baseline gets every input treatment a distilled run uses (mixup alone can help or hurt).
  const aug = augmentation ? { augmentation } : {};
  const mixups = [...new Set(configs.map((c) => c.mixup).filter((m) => m !== undefined && !Number.isNaN(m)))];
  const rows: {
    label: string;
    options: Record<string, unknown>;
    alone: boolean;
    accs: { val: number; test: number }[];
  }[] = [
    // With augmentation, the student alone also without it (augmentation can cost a small student).
    ...(augmentation
      ? [{ label: 'alone, no augmentation', options: { alpha: 1 }, alone: true, accs: [] }]
      : []),
    {
      label: `alone (alpha = 1)${augmentation ? ', augmented' : ''}`,
      options: { alpha: 1, ...aug },
      alone: true,
      accs: [],
    },
    ...mixups.map((m) => ({
      label: `alone, mixup ${m}${augmentation ? ', augmented' : ''}`,
      options: { alpha: 1, mixup: m, ...aug },
      alone: true,
      accs: [],
    })),
    ...configs.map((c) => ({
      label: `T = ${c.temperature}, alpha = ${c.alpha}${c.mixup ? `, mixup ${c.mixup} (teacher on the mixed images)` : ''}`,
      options: {
        temperature: c.temperature,
        alpha: c.alpha,
        ...(c.mixup ? { mixup: c.mixup } : {}),
        ...aug,
      },
      alone: false,
      accs: [],
    })),
  ];
  for (const seed of seeds)
    for (const row of rows) {
      row.accs.push(await run(row.options, seed));
      const last = row.accs.at(-1) as { val: number; test: number };
      console.error(`  seed ${seed} ${row.label}: val ${pct(last.val)} test ${pct(last.test)}`);
    }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  // The baseline to beat: the better of the alone rows by mean validation accuracy.
  const alone = rows
    .filter((r) => r.alone)
    .sort((a, b) => mean(b.accs.map((x) => x.val)) - mean(a.accs.map((x) => x.val)))[0];
  console.log(`\n| student | validation per seed | test per seed | mean test | vs ${alone.label} (points) |`);
  console.log('| --- | --- | --- | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.label} | ${r.accs.map((x) => pct(x.val)).join(', ')} | ${r.accs.map((x) => pct(x.test)).join(', ')} | ${pct(mean(r.accs.map((x) => x.test)))} | ${r === alone ? '-' : pts(mean(r.accs.map((x, i) => x.test - alone.accs[i].test)))} |`,
    );
  // The distilled row chosen by validation accuracy, never by test.
  const chosen = rows
    .filter((r) => !r.alone)
    .sort((a, b) => mean(b.accs.map((x) => x.val)) - mean(a.accs.map((x) => x.val)))[0];
  const gain = mean(chosen.accs.map((x, i) => x.test - alone.accs[i].test));
  console.log(
    `\nchosen by validation: ${chosen.label}; target (distillation >= 1 point above the student alone on test): ${gain >= 0.01 ? 'met' : 'MISSED'} (${pts(gain)} points)`,
  );
}

async function main(): Promise<void> {
  await initBackend();
  const data: CompressionData = await loadFashionData();
  if (sections.includes('lowrank')) await lowRankSection(data);
  if (sections.includes('distill')) await distillSection(data);
}

await main();
