/**
 * One model on every core, and relaxed-SIMD fused multiply-add, against PyTorch in one run.
 *
 *   node --import tsx bench/data-parallel.ts [--epochs 3] [--sections threads,simd] [--threads 2] [--skip-torch]
 *
 * threads: LeNet-5 on Fashion-MNIST (batch 128, Adam 1e-3, seed 0) on 1 and on N threads
 *   (Parsimony's data-parallel trainer; PyTorch's torch.set_num_threads through the anchor
 *   `../shared/anchors/torch_train.py`): seconds per epoch, speed-up, test accuracy.
 * simd: LeNet-300-100 and LeNet-5 on one thread, Parsimony's wasm kernels with and without relaxed
 *   SIMD (PARSIMONY_RELAXED_SIMD=0), beside PyTorch on one thread.
 *
 * Every Parsimony configuration trains in a fresh child process (the kernel variant is chosen
 * once per process), one run after another so no two share the cores. Seconds per epoch are the
 * median of the epochs after the first, as the anchor reports them. The machine's load average
 * is printed beside each run: on a shared machine, compare ratios within one run.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BenchArgs } from './lib/args.js';
import { checkLeNetNetworks, loadFashionData, runTorchLeNetTraining } from './lib/fashion-lenet.js';
import { pythonModuleVersion } from './lib/python.js';
import { isoDate, writeBenchResults } from './lib/results.js';
import { markdownTable, pct } from './lib/table.js';

const args = new BenchArgs(['epochs', 'sections', 'threads', 'measure'], ['skip-torch']);
const epochs = args.count('epochs', 3);
const threads = args.count('threads', 2);

interface Run {
  side: 'parsimony' | 'pytorch';
  network: string;
  threads: number;
  relaxedSimd: boolean | null;
  secondsPerEpoch: number;
  testAccuracy: number;
  epochSeconds: number[];
  /**
   * CPU seconds per epoch of the whole process (all its threads; Parsimony only), median after the
   * first: the work a configuration does, which other jobs on the machine barely change.
   */
  cpuSecondsPerEpoch?: number;
  /** One-minute load average before and after the run. */
  load: [number, number];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const steady = (xs: number[]) => median(xs.length > 1 ? xs.slice(1) : xs);
const load1 = () => Number(loadavg()[0].toFixed(2));

/** Child mode: trains one configuration and prints one JSON line. */
async function measure(network: string): Promise<void> {
  const { initBackend } = await import('../src/models/backends/index.js');
  const { useRelaxedSimd } = await import('../src/models/backends/wasm/relaxed-simd.js');
  const { buildTfjsModel } = await import('../src/models/tfjs/build.js');
  const { zooModel } = await import('../src/models/zoo/index.js');
  const { evaluate, trainModel } = await import('../src/train/trainer.js');
  await initBackend({ backend: 'wasm' });
  const { train, test } = await loadFashionData();
  const model = await buildTfjsModel(zooModel(network), { seed: 0 });
  const epochCpu: number[] = [];
  let cpuMark = process.cpuUsage();
  const result = await trainModel(model, train, {
    epochs,
    batchSize: 128,
    optimizer: { type: 'adam', learningRate: 1e-3 },
    seed: 0,
    threads,
    onEpoch: (m) => {
      const cpu = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      epochCpu.push((cpu.user + cpu.system) / 1e6);
      process.stderr.write(
        `    epoch ${m.epoch + 1}: ${m.seconds.toFixed(1)} s, CPU ${epochCpu.at(-1)?.toFixed(1)} s, load ${load1()}\n`,
      );
    },
  });
  const epochSeconds = result.history.map((h) => h.seconds);
  console.log(
    JSON.stringify({
      secondsPerEpoch: steady(epochSeconds),
      cpuSecondsPerEpoch: steady(epochCpu),
      testAccuracy: (await evaluate(model, test)).accuracy,
      epochSeconds,
      relaxedSimd: useRelaxedSimd(),
    }),
  );
}

function runChild(network: string, threadCount: number, relaxed: boolean): Promise<Run> {
  const script = fileURLToPath(import.meta.url);
  const before = load1();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', script, '--measure', network],
        ...['--threads', String(threadCount), '--epochs', String(epochs)],
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, PARSIMONY_RELAXED_SIMD: relaxed ? '1' : '0' },
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${network} on ${threadCount} threads exited with ${code}`));
      const record = JSON.parse(line) as Omit<Run, 'side' | 'network' | 'threads' | 'load'>;
      resolve({ side: 'parsimony', network, threads: threadCount, ...record, load: [before, load1()] });
    });
  });
}

async function runTorch(network: string, threadCount: number): Promise<Run> {
  const before = load1();
  const record = await runTorchLeNetTraining(network, epochs, threadCount);
  return {
    side: 'pytorch',
    network,
    threads: threadCount,
    relaxedSimd: null,
    secondsPerEpoch: Number(record.seconds_per_epoch),
    testAccuracy: Number(record.test_accuracy),
    epochSeconds: record.epoch_seconds as number[],
    load: [before, load1()],
  };
}

async function main(): Promise<void> {
  const sections = args.string('sections', 'threads,simd').split(',');
  for (const s of sections) if (s !== 'threads' && s !== 'simd') throw new Error(`unknown section ${s}`);
  const torch = args.flag('skip-torch') ? null : pythonModuleVersion('torch');
  const runs: Run[] = [];
  const step = async (label: string, run: () => Promise<Run>): Promise<Run> => {
    process.stderr.write(`[${label}] ${epochs} epochs, load ${load1()}...\n`);
    const r = await run();
    runs.push(r);
    process.stderr.write(`  ${r.secondsPerEpoch.toFixed(2)} s/epoch, test ${pct(r.testAccuracy)}\n`);
    return r;
  };
  const find = (side: Run['side'], network: string, t: number, relaxed: boolean | null) =>
    runs.find(
      (r) => r.side === side && r.network === network && r.threads === t && r.relaxedSimd === relaxed,
    );
  const lines: string[] = [
    `# Data-parallel training and relaxed SIMD, ${isoDate()}`,
    '',
    `Fashion-MNIST, batch 128, Adam 1e-3, ${epochs} epochs, seed 0; PyTorch ${torch ?? 'not run'}; s/epoch = median of the epochs after the first; load = one-minute load average before/after each run.`,
    '',
  ];
  const loadText = (r: Run | undefined) => (r ? `${r.load[0]} / ${r.load[1]}` : '-');
  const sec = (r: Run | undefined) => (r ? r.secondsPerEpoch.toFixed(2) : '-');

  if (sections.includes('threads')) {
    const network = 'lenet-5';
    if (torch) {
      await step(`pytorch ${network} 1 thread`, () => runTorch(network, 1));
      await step(`pytorch ${network} ${threads} threads`, () => runTorch(network, threads));
    }
    await step(`parsimony ${network} 1 thread`, () => runChild(network, 1, true));
    await step(`parsimony ${network} ${threads} threads`, () => runChild(network, threads, true));
    const rows = (['parsimony', 'pytorch'] as const).flatMap((side) => {
      const one = runs.find((r) => r.side === side && r.network === network && r.threads === 1);
      const many = runs.find((r) => r.side === side && r.network === network && r.threads === threads);
      if (!one || !many) return [];
      return [
        [
          side === 'parsimony' ? 'Parsimony' : 'PyTorch',
          sec(one),
          sec(many),
          `${(one.secondsPerEpoch / many.secondsPerEpoch).toFixed(2)}x`,
          pct(one.testAccuracy),
          pct(many.testAccuracy),
          side === 'parsimony'
            ? `${one.cpuSecondsPerEpoch?.toFixed(2)}; ${many.cpuSecondsPerEpoch?.toFixed(2)}`
            : '-',
          `${loadText(one)}; ${loadText(many)}`,
        ],
      ];
    });
    lines.push(
      `## LeNet-5, 1 vs ${threads} threads`,
      '',
      markdownTable(
        [
          '',
          's/epoch 1 thread',
          `s/epoch ${threads} threads`,
          'speed-up',
          'test acc 1',
          `test acc ${threads}`,
          'CPU s/epoch (1; N)',
          'load (1; N)',
        ],
        rows,
      ),
      '',
    );
    const p1 = runs.find((r) => r.side === 'parsimony' && r.threads === 1 && r.network === network);
    const pN = runs.find((r) => r.side === 'parsimony' && r.threads === threads && r.network === network);
    if (p1 && pN) {
      const speedup = p1.secondsPerEpoch / pN.secondsPerEpoch;
      const gap = 100 * Math.abs(p1.testAccuracy - pN.testAccuracy);
      lines.push(
        `- ${speedup >= 1.7 ? 'PASS' : 'FAIL'} speed-up ${speedup.toFixed(2)}x on ${threads} threads (target >= 1.7x); test accuracy ${pct(p1.testAccuracy)} vs ${pct(pN.testAccuracy)} (${gap.toFixed(2)} points apart)`,
        '',
      );
    }
  }

  if (sections.includes('simd')) {
    const rows: string[][] = [];
    const verdicts: string[] = [];
    for (const network of ['lenet-300-100', 'lenet-5']) {
      checkLeNetNetworks([network]);
      const t =
        find('pytorch', network, 1, null) ??
        (torch ? await step(`pytorch ${network} 1 thread`, () => runTorch(network, 1)) : undefined);
      const plain = await step(`parsimony ${network} plain SIMD`, () => runChild(network, 1, false));
      const fused =
        find('parsimony', network, 1, true) ??
        (await step(`parsimony ${network} relaxed SIMD`, () => runChild(network, 1, true)));
      const ratio = (r: Run) => (t ? `${(r.secondsPerEpoch / t.secondsPerEpoch).toFixed(2)}x` : '-');
      rows.push([
        network,
        sec(plain),
        sec(fused),
        `${(plain.secondsPerEpoch / fused.secondsPerEpoch).toFixed(2)}x`,
        sec(t),
        ratio(plain),
        ratio(fused),
        `${pct(plain.testAccuracy)} / ${pct(fused.testAccuracy)} / ${pct(t?.testAccuracy)}`,
        `${loadText(plain)}; ${loadText(fused)}; ${loadText(t)}`,
      ]);
      if (t)
        verdicts.push(
          `- ${fused.secondsPerEpoch / t.secondsPerEpoch <= 2 ? 'PASS' : 'FAIL'} ${network}: ${ratio(fused)} PyTorch's single-thread epoch with relaxed SIMD (goal <= 2x), ${ratio(plain)} without`,
        );
    }
    lines.push(
      '## One thread: relaxed SIMD fused multiply-add',
      '',
      markdownTable(
        [
          'network',
          'plain s/epoch',
          'relaxed s/epoch',
          'gain',
          'PyTorch s/epoch',
          'plain / PyTorch',
          'relaxed / PyTorch',
          'test acc plain / relaxed / PyTorch',
          'load (plain; relaxed; PyTorch)',
        ],
        rows,
      ),
      '',
      ...verdicts,
      '',
    );
  }
  const markdown = lines.join('\n');
  console.log(markdown);
  const written = writeBenchResults(
    'data-parallel',
    { date: new Date().toISOString(), epochs, threads, runs },
    markdown,
  );
  process.stderr.write(`written ${written.json}, ${written.markdown}\n`);
}

if (args.has('measure')) await measure(args.string('measure', 'lenet-5'));
else await main();
