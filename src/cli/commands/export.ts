/**
 * `parsimony export <model dir> --format onnx [--out file.onnx]`: a Parsimony model (trained, or
 * from `parsimony compress`, rebuilt from what is stored) as an ONNX file that takes and returns
 * Parsimony's shapes (NHWC images). See src/deploy/onnx-export.ts for the layout and the
 * layer types it covers. Nothing is written on failure.
 */
import { rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { FileNotFoundError, UsageError } from '../../core/errors.js';
import type { CommandIO } from '../output.js';
import { VERSION } from '../version.js';

export interface ExportResult {
  model: string;
  out: string;
  format: 'onnx';
  opset: number;
  nodes: number;
  bytes: number;
}

export async function runExport(
  dir: string,
  options: { format: string; out?: string },
): Promise<ExportResult> {
  if (options.format !== 'onnx')
    throw new UsageError(`--format: only onnx is supported, got "${options.format}"`);
  if (!(await stat(dir).catch(() => null))?.isDirectory())
    throw new FileNotFoundError(dir, 'model directory');
  const { initBackend } = await import('../../models/backends/index.js');
  await initBackend(); // reading a saved model builds it in TensorFlow.js
  const { readCompressedModel } = await import('../../compress/store.js');
  const { exportOnnx, EXPORT_OPSET } = await import('../../deploy/onnx-export.js');
  const { modelProtoType } = await import('../../models/formats/onnx/proto.js');
  const { weights } = await readCompressedModel(dir);
  const proto = exportOnnx(weights, VERSION);
  const type = modelProtoType();
  const bytes = type.encode(type.fromObject(proto as unknown as Record<string, unknown>)).finish();
  const out = options.out ?? path.join(dir, 'model.onnx');
  const temporary = `${out}.tmp-${process.pid}`;
  await writeFile(temporary, bytes);
  await rename(temporary, out);
  return {
    model: dir,
    out,
    format: 'onnx',
    opset: EXPORT_OPSET,
    nodes: proto.graph?.node.length ?? 0,
    bytes: bytes.length,
  };
}

export function registerExportCommand(program: Command, io: CommandIO): void {
  program
    .command('export')
    .description(
      'export a Parsimony model directory (trained or compressed) to ONNX; the file takes and returns the same shapes as the model (NHWC images)',
    )
    .argument('<model>', 'a saved model directory, e.g. the output of `parsimony compress`')
    .requiredOption('--format <format>', 'onnx')
    .option('--out <file>', 'the file to write (default: <model>/model.onnx)')
    .option('--json', 'print the result as JSON')
    .action(async (model: string, options: { format: string; out?: string; json?: boolean }) => {
      const result = await runExport(model, options);
      io.stdout(
        options.json
          ? JSON.stringify(result, null, 2)
          : `exported ${result.model} to ${result.out} (ONNX opset ${result.opset}, ${result.nodes} nodes, ${result.bytes} bytes)`,
      );
    });
}
