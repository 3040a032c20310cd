/**
 * `parsimony compress --method lowrank` and `--method distill` end to end on digits, and their
 * one-line errors (rank larger than the layer, teacher and student with different output sizes)
 * before any training, with nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCompressedModel } from '../../src/compress/store.js';
import { sequential } from '../../src/models/spec/builder.js';
import { runCliCaptured } from '../helpers/cli.js';
import { mlpSpec } from './helpers.js';

let dir: string;
let specFile: string;
let studentFile: string;
let wrongStudentFile: string;

const student = (classes: number) =>
  sequential([64], { name: 'student' })
    .add('dense', { units: 8, activation: 'relu' })
    .add('dense', { units: classes, activation: 'softmax' })
    .build();

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'parsimony-compress-lowrank-'));
  specFile = path.join(dir, 'mlp.json');
  studentFile = path.join(dir, 'student.json');
  wrongStudentFile = path.join(dir, 'student-5.json');
  await writeFile(specFile, JSON.stringify(mlpSpec()));
  await writeFile(studentFile, JSON.stringify(student(10)));
  await writeFile(wrongStudentFile, JSON.stringify(student(5)));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parsimony compress --method lowrank / distill', () => {
  it('lowrank: factorises, fine-tunes and stores a model that loads with the factorised spec; distill trains a student from it', async () => {
    const out = path.join(dir, 'lowrank');
    const r = await runCliCaptured([
      ...['compress', specFile, '--dataset', 'digits', '--method', 'lowrank', '--param-ratio', '0.5'],
      ...['--epochs', '3', '--finetune-epochs', '1', '--seed', '1', '--out', out, '--json'],
    ]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out);
    assert.ok(
      json.result.params < json.base.params,
      `fewer parameters: ${json.result.params} < ${json.base.params}`,
    );
    const layers = json.steps[0].details.layers as { layer: string; rank: number }[];
    assert.deepEqual(
      layers.map((l) => l.layer),
      ['dense_1', 'dense_2'],
    );
    const stored = await readCompressedModel(out);
    assert.ok(
      stored.weights.spec.layers.some((l) => l.name === 'dense_1_lowrank'),
      'the stored spec has the factor layer',
    );

    // The stored model is the teacher of a distillation run.
    const distilled = path.join(dir, 'distilled');
    const d = await runCliCaptured([
      ...[
        'compress',
        '--method',
        'distill',
        '--teacher',
        out,
        '--student',
        studentFile,
        '--dataset',
        'digits',
      ],
      ...['--distill-epochs', '3', '--learning-rate', '0.01', '--alpha', '0.5', '--temperature', '4'],
      ...['--mixup', '0.4', '--lr-schedule', 'cosine', '--out', distilled, '--json'],
    ]);
    assert.equal(d.code, 0, d.err);
    const dj = JSON.parse(d.out);
    assert.equal(dj.result.params, 64 * 8 + 8 + 8 * 10 + 10);
    assert.ok(dj.result.testAccuracy > 0.3, `the student learned: ${dj.result.testAccuracy}`);
    assert.equal(dj.steps[0].details.mixup, 0.4, 'the teacher labelled mixed batches');
    assert.deepEqual(dj.steps[0].details.schedule, { type: 'cosine', period: 3 }, 'cosine over the 3 epochs');
  });

  const bad: [string, string[], RegExp][] = [
    [
      'a rank larger than the layer',
      ['--method', 'lowrank', '--rank', '100'],
      /^step 1 \(lowrank\): field "rank": rank 100 is larger than layer "dense_1" allows \(kernel \[64, 48\]: at most 48\)$/,
    ],
    [
      'lowrank without a rank rule',
      ['--method', 'lowrank'],
      /--method lowrank needs --energy, --rank or --param-ratio/,
    ],
    [
      'an energy above 1',
      ['--method', 'lowrank', '--energy', '1.5'],
      /field "energy" must be a number in \(0, 1\]/,
    ],
    [
      'a student with another output size',
      ['--method', 'distill', '--student', 'STUDENT5'],
      /^step 1 \(distill\): field "student": output size \[5\] differs from the teacher's \[10\]$/,
    ],
    ['distill without a student', ['--method', 'distill'], /--method distill needs --student/],
    [
      'a mixup concentration of 0',
      ['--method', 'distill', '--student', 'STUDENT10', '--mixup', '0'],
      /--mixup must be a number > 0, got "0"/,
    ],
    [
      'shift augmentation on features that are not images',
      ['--method', 'distill', '--student', 'STUDENT10', '--shift', '0.1'],
      /^step 1 \(distill\): field "augmentation": augmentation needs images/,
    ],
    [
      'an unknown learning-rate schedule',
      ['--method', 'distill', '--student', 'STUDENT10', '--lr-schedule', 'linear'],
      /^step 1 \(distill\): field "schedule" must be "constant", "cosine" or a schedule object, got "linear"$/,
    ],
    [
      'flip augmentation on features that are not images',
      ['--method', 'distill', '--student', 'STUDENT10', '--flip'],
      /^step 1 \(distill\): field "augmentation": augmentation needs images/,
    ],
    [
      '--mixup with a pruning method',
      ['--method', 'global', '--mixup', '1'],
      /--mixup is for --method distill, not global/,
    ],
  ];
  for (const [what, args, pattern] of bad)
    it(`rejects ${what} in one line before training, nothing written`, async () => {
      const out = path.join(dir, `bad-${what.replaceAll(' ', '-')}`);
      const r = await runCliCaptured([
        'compress',
        specFile,
        '--dataset',
        'digits',
        ...args.map((a) => (a === 'STUDENT5' ? wrongStudentFile : a === 'STUDENT10' ? studentFile : a)),
        '--out',
        out,
      ]);
      assert.notEqual(r.code, 0);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err.trim().replace(/^error: /, ''), pattern);
      assert.equal(existsSync(out), false, 'nothing written');
    });
});
