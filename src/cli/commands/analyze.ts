/**
 * `parsimony analyze <model.json|model.onnx|zoo:name> [--json] [--spec]`: parameters, connections,
 * MACs and memory per layer and in total, computed from the spec without building the model. A file
 * may be a Parsimony spec or a TensorFlow.js layers model (its topology is converted to a spec), or
 * an ONNX model (analysed node by node: src/models/formats/onnx/analyze.ts). `--spec`
 * prints the model's spec instead, a template to edit (a zoo model's, or a converted model.json).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { FileNotFoundError, ModelSpecError, UsageError } from '../../core/errors.js';
import type { LayerComplexity, ModelComplexity } from '../../models/complexity/analyze.js';
import type { OnnxModelComplexity } from '../../models/formats/onnx/analyze.js';
import type { ModelSpec } from '../../models/spec/types.js';
import { ZOO } from '../../models/zoo/index.js';
import { type CommandIO, formatInteger, formatTable } from '../output.js';

export interface AnalyzeOptions {
  /** A spec file (JSON) or `zoo:<name>[?option=value&...]`. */
  model: string;
}

/** True for a model argument analysed as ONNX (by its extension). */
export function isOnnxFile(model: string): boolean {
  return model.toLowerCase().endsWith('.onnx');
}

export async function runAnalyze(options: AnalyzeOptions): Promise<ModelComplexity | OnnxModelComplexity> {
  if (isOnnxFile(options.model)) {
    const { analyzeOnnxFile } = await import('../../models/formats/onnx/analyze.js');
    return analyzeOnnxFile(options.model);
  }
  const { analyzeModel } = await import('../../models/complexity/analyze.js');
  return analyzeModel(await readModel(options.model));
}

/** The spec of a zoo reference or a model file. */
export async function readModel(model: string): Promise<ModelSpec> {
  if (model.startsWith('zoo:')) {
    const { zooModelFromReference } = await import('../../models/zoo/index.js');
    return zooModelFromReference(model);
  }
  return readModelFile(model);
}

/**
 * A Parsimony spec, or a TensorFlow.js layers model (`model.json`), from a file; a directory
 * written by `saveModel` reads its parsimony-model.json (else a spec.json, else the model.json of
 * `model.save('file://...')`).
 */
async function readModelFile(file: string): Promise<ModelSpec> {
  let target = file;
  if ((await stat(file).catch(() => null))?.isDirectory()) {
    const candidates = ['parsimony-model.json', 'spec.json', 'model.json'].map((name) =>
      path.join(file, name),
    );
    const found = await Promise.all(
      candidates.map((c) =>
        stat(c)
          .then(() => c)
          .catch(() => null),
      ),
    );
    target = found.find((c) => c !== null) ?? candidates[1];
  }
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FileNotFoundError(target, 'model file', { cause: error });
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelSpecError(`${target}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const isTfjs =
    typeof json === 'object' &&
    json !== null &&
    (json as { format?: unknown }).format !== 'parsimony-model' &&
    ('modelTopology' in json || 'class_name' in json);
  if (isTfjs) {
    const { specFromTfjsTopology } = await import('../../models/import/tfjs-layers.js');
    return specFromTfjsTopology(json, target);
  }
  const { parseModelSpec } = await import('../../models/spec/validate.js');
  return parseModelSpec(json, target);
}

function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

type AnyComplexity = Omit<ModelComplexity, 'layers'> & {
  layers: (Omit<LayerComplexity, 'type'> & { type: string })[];
};

function onnxLines(a: AnyComplexity): string[] {
  if (!('format' in a) || a.format !== 'onnx') return [];
  const o = a as OnnxModelComplexity;
  const opsets = Object.entries(o.opsets).map(([domain, v]) => `${domain} ${v}`);
  const zero = Object.entries(o.zeroMacOps).map(([op, n]) => `${op} x${n}`);
  return [
    `onnx          opsets ${opsets.join(', ')}${o.producer ? `; produced by ${o.producer}` : ''}; inputs ${o.inputs.map((i) => `${i.name} ${i.shape.join('x')}`).join(', ')}`,
    ...o.assumptions.map((s) => `assumed       ${s}`),
    ...(zero.length ? [`zero-MAC ops  ${zero.join(', ')}`] : []),
    ...(o.constantNodes
      ? [`constants     ${o.constantNodes} nodes computed from constants alone (not listed)`]
      : []),
  ];
}

export function formatAnalysis(a: AnyComplexity): string {
  const table = formatTable(a.layers, [
    { header: 'layer', value: (l) => l.name },
    { header: 'type', value: (l) => l.type },
    { header: 'output', value: (l) => l.outputShape.join('x') },
    { header: 'params', value: (l) => formatInteger(l.params), align: 'right' },
    { header: 'connections', value: (l) => formatInteger(l.connections), align: 'right' },
    { header: 'MACs', value: (l) => formatInteger(l.macs), align: 'right' },
    { header: 'activations', value: (l) => bytes(l.activationBytes), align: 'right' },
  ]);
  const isOnnx = 'format' in a && a.format === 'onnx';
  // an ONNX file's zeros are counted from its stored values: say so rather than call it compressed
  const compressed = !isOnnx && (a.nonZeroParams !== a.params || a.storedBits !== a.weightBytes * 8);
  return [
    `${a.name}`,
    table,
    '',
    `parameters    ${formatInteger(a.params)} (${compact(a.params)}) learned: ${formatInteger(a.trainableParams)} trainable + ${formatInteger(a.frozenParams)} frozen`,
    ...(a.stateValues > 0
      ? [
          `state         ${formatInteger(a.stateValues)} batch-norm moving means and variances: stored, not learned, so not parameters (TensorFlow.js and Keras count them as non-trainable weights: ${formatInteger(a.params + a.stateValues)} in all)`,
        ]
      : []),
    `connections   ${formatInteger(a.connections)} (${compact(a.connections)})`,
    `MACs          ${formatInteger(a.macs)} (${compact(a.macs)}); FLOPs = 2 x MACs = ${compact(a.flops)}`,
    ...(a.activeMacs < a.macs || a.activeParams < a.params
      ? [
          `active        ${formatInteger(a.activeParams)} parameters and ${formatInteger(a.activeMacs)} MACs per sample (conditional layers run their top-k experts only; the figures above count every expert)`,
        ]
      : []),
    `weights       ${bytes(a.weightBytes)} stored`,
    `activations   ${bytes(a.activationBytes)} per sample in total, ${bytes(a.peakActivationBytes)} for the largest layer (float32)`,
    ...(compressed
      ? [
          `compressed    ${formatInteger(a.nonZeroParams)} non-zero parameters, ${bytes(Math.ceil(a.storedBits / 8))} of values`,
        ]
      : []),
    ...(isOnnx && a.nonZeroParams !== a.params
      ? [
          `zeros         ${formatInteger(a.params - a.nonZeroParams)} of the stored parameter values are zero (${formatInteger(a.nonZeroParams)} non-zero)`,
        ]
      : []),
    ...onnxLines(a),
  ].join('\n');
}

export function registerAnalyzeCommand(program: Command, io: CommandIO): void {
  program
    .command('analyze')
    .description('parameters, connections, MACs and memory of a model, per layer, computed from its spec')
    .argument(
      '<model>',
      'a model spec (JSON), a saved model directory (also a network from `parsimony dynamic --out`), a TensorFlow.js model.json, an ONNX model (.onnx), or zoo:<name>, e.g. zoo:resnet-18 or zoo:mobilenet-v2?alpha=0.5',
    )
    .option('--json', 'print the analysis as JSON')
    .option(
      '--spec',
      "print the model's spec (JSON, the format of assets/model-spec.schema.json) instead: a template to edit (not for ONNX files)",
    )
    .addHelpText(
      'after',
      `\nZoo models (options as ?key=value&...):\n${ZOO.map((e) => `  ${e.name.padEnd(20)} ${e.description}${e.options.length ? ` [${e.options.join(', ')}]` : ''}`).join('\n')}`,
    )
    .action(async (model: string, options: { json?: boolean; spec?: boolean }) => {
      const { readDynamicDirectory } = await import('../../dynamic/analyze.js');
      const dynamic = await readDynamicDirectory(model);
      if (dynamic) {
        // A network whose size changes at run time: its stored form, or its largest model's layers
        // (not a cascade's: one per member) and the cost of each way a sample runs.
        if (options.spec) {
          io.stdout(JSON.stringify(dynamic, null, 2));
          return;
        }
        const { analyzeDynamicModel } = await import('../../dynamic/analyze.js');
        const { analyzeModel } = await import('../../models/complexity/analyze.js');
        const { formatDynamicAnalysis } = await import('./dynamic.js');
        const cost = analyzeDynamicModel(dynamic);
        const whole = dynamic.kind === 'cascade' ? undefined : analyzeModel(dynamic.model);
        const threshold = dynamic.kind === 'slimmable' ? undefined : dynamic.threshold;
        io.stdout(
          options.json
            ? JSON.stringify({ ...(whole ? { model: whole } : {}), dynamic: cost }, null, 2)
            : [...(whole ? [formatAnalysis(whole), ''] : []), formatDynamicAnalysis(cost, threshold)].join(
                '\n',
              ),
        );
        return;
      }
      if (options.spec && isOnnxFile(model))
        throw new UsageError(
          '--spec: an ONNX model has no Parsimony spec to print (analyze it without --spec)',
        );
      if (options.spec) {
        io.stdout(JSON.stringify(await readModel(model), null, 2));
        return;
      }
      const analysis = await runAnalyze({ model });
      io.stdout(options.json ? JSON.stringify(analysis, null, 2) : formatAnalysis(analysis));
    });
}
