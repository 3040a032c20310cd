import { saveModelWeights } from '../src/compress/model-weights.js';
import { initBackend } from '../src/models/backends/index.js';
import { loadFashionData, trainDenseLeNet } from '../bench/lib/fashion-lenet.js';
await initBackend({});
const data = await loadFashionData();
const d = await trainDenseLeNet('lenet-5', data, 10, 'wasm');
console.log(JSON.stringify({ seconds: d.seconds, test: d.testAccuracy }));
await saveModelWeights(d.weights, '/tmp/prune5/dense-lenet5');
