import { weightsAccuracy } from '../src/compress/fine-tune.js';
import { cloneWeights, loadModelWeights, weightTensors } from '../src/compress/model-weights.js';
import { globalMasks } from '../src/compress/prune-masks.js';
import { initBackend } from '../src/models/backends/index.js';
import { loadFashionData } from './lib/fashion-lenet.js';
await initBackend({});
const data = await loadFashionData();
const dense = await loadModelWeights(process.argv[2]);
for (const ratio of [12, 25, 50])
  for (const score of ['magnitude', 'lamp'] as const) {
    const w = cloneWeights(dense);
    const layers = w.layers.filter((l) => weightTensors(l).length > 0);
    const groups = layers.map((l) => ({ layer: l.layer, tensors: weightTensors(l).map((t) => ({ name: t.name, values: t.values })) }));
    const last = layers[layers.length - 1].layer;
    const masks = globalMasks(groups, 1 - 1 / ratio, new Map([[last, 0.2]]), score);
    const kept: Record<string, number> = {};
    for (const l of layers)
      for (const t of weightTensors(l)) {
        const m = masks.get(l.layer)?.get(t.name) as Uint8Array;
        let k = 0;
        for (let i = 0; i < m.length; i++) if (m[i]) k++; else t.values[i] = 0;
        kept[l.layer] = Number((k / m.length).toFixed(4));
      }
    const acc = await weightsAccuracy(w, data.test);
    console.log(JSON.stringify({ ratio, score, testAccuracy: acc, kept }));
  }
