"""Anchor for bench/onnx.ts: exports torchvision's ResNet-50 (random weights) to ONNX, then times
onnx.load and onnx.shape_inference.infer_shapes on that file, each repeated.

    python3 bench/onnx_anchor.py --out model.onnx --repeats 5

Prints JSON lines: {"exported": path, "seconds": s}, then {"load_ms": [...], "infer_ms": [...]}.
"""
import argparse
import json
import time

import onnx
import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument('--out', required=True)
parser.add_argument('--repeats', type=int, default=5)
args = parser.parse_args()

torch.manual_seed(0)
net = torchvision.models.resnet50().eval()
start = time.perf_counter()
# training=PRESERVE on an eval model keeps batch norms as nodes (the parameters stay torchvision's)
torch.onnx.export(net, torch.zeros(1, 3, 224, 224), args.out, opset_version=13, input_names=['input'],
                  dynamic_axes={'input': {0: 'batch'}}, training=torch.onnx.TrainingMode.PRESERVE)
print(json.dumps({'exported': args.out, 'seconds': time.perf_counter() - start}), flush=True)

load_ms, infer_ms = [], []
for _ in range(args.repeats + 1):  # the first round warms the page cache and is dropped
    t0 = time.perf_counter()
    model = onnx.load(args.out)
    t1 = time.perf_counter()
    onnx.shape_inference.infer_shapes(model)
    t2 = time.perf_counter()
    load_ms.append((t1 - t0) * 1000)
    infer_ms.append((t2 - t1) * 1000)
print(json.dumps({'load_ms': load_ms[1:], 'infer_ms': infer_ms[1:], 'onnx': onnx.__version__}), flush=True)
