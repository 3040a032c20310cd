/**
 * `analyze` on an ONNX file against the onnx package's own loading and shape inference, in one run.
 *
 *   node --import tsx bench/onnx.ts [--repeats 5]
 *
 * bench/onnx_anchor.py exports torchvision's ResNet-50 (random weights, Debian's python3-torch and
 * python3-torchvision) to a temporary ONNX file and times onnx.load and
 * onnx.shape_inference.infer_shapes on it (python3-onnx); it runs first, so the two sides never
 * share the cores. Parsimony's side is `analyzeOnnxFile` in this process (read, decode, shape
 * inference, costs) and the whole `parsimony analyze model.onnx --json` command as a child process
 * (node and tsx start-up included). Medians over the repeats after one warm-up. Goal: under 1 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeOnnxFile } from '../src/models/formats/onnx/analyze.js';
import { BenchArgs } from './lib/args.js';
import { requirePythonModules, runPythonJsonLines } from './lib/python.js';
import { median } from './lib/stats.js';
import { markdownTable } from './lib/table.js';

const args = new BenchArgs(['repeats']);
const repeats = args.count('repeats', 5);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

async function main(): Promise<void> {
  requirePythonModules('bench/onnx.ts', {
    torch: 'python3-torch',
    torchvision: 'python3-torchvision',
    onnx: 'python3-onnx',
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'parsimony-bench-onnx-'));
  try {
    const file = path.join(dir, 'resnet50.onnx');
    process.stderr.write('[python] exporting ResNet-50 and timing onnx.load + infer_shapes...\n');
    const records = await runPythonJsonLines(path.join(import.meta.dirname, 'onnx_anchor.py'), [
      '--out',
      file,
      '--repeats',
      String(repeats),
    ]);
    const anchor = records.find((r) => 'load_ms' in r) as {
      load_ms: number[];
      infer_ms: number[];
      onnx: string;
    };
    const load = median(anchor.load_ms);
    const infer = median(anchor.infer_ms);
    const both = median(anchor.load_ms.map((l, i) => l + anchor.infer_ms[i]));

    process.stderr.write('[parsimony] analyze...\n');
    const inProcess: number[] = [];
    let analysis = analyzeOnnxFile(file); // warm-up
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      analysis = analyzeOnnxFile(file);
      inProcess.push(performance.now() - t);
    }
    const command: number[] = [];
    for (let i = 0; i <= repeats; i++) {
      const t = performance.now();
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/bin.ts', 'analyze', file, '--json'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        },
      );
      if (r.status !== 0) throw new Error(`parsimony analyze failed: ${r.stderr}`);
      if (i > 0) command.push(performance.now() - t);
    }
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const size = statSync(file).size / 2 ** 20;
    process.stdout.write(
      `ResNet-50 ONNX (${size.toFixed(1)} MiB, opset 13; ${analysis.params.toLocaleString('en-US')} parameters, ${(analysis.macs / 1e9).toFixed(3)} GMACs), median of ${repeats}\n\n`,
    );
    process.stdout.write(
      `${markdownTable(
        ['what', 'time'],
        [
          [`onnx ${anchor.onnx}: onnx.load`, ms(load)],
          ['onnx: shape_inference.infer_shapes', ms(infer)],
          ['onnx: load + infer_shapes', ms(both)],
          ['Parsimony: analyzeOnnxFile (read, decode, shapes, costs)', ms(median(inProcess))],
          ['Parsimony: `parsimony analyze model.onnx --json` (whole process)', ms(median(command))],
        ],
      )}\n`,
    );
    const goal = median(inProcess) < 1000 ? 'met' : 'NOT met';
    process.stdout.write(`\ngoal (analyze under 1 s): ${goal}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
