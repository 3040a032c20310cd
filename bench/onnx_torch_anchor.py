"""Anchor for bench/onnx.ts --only int8: trains LeNet-300-100, LeNet-5 and MobileNetV2 (alpha 0.35)
on Fashion-MNIST samples prepared by the bench, exports each to ONNX, and times its inference in
PyTorch itself (eval mode, torch.inference_mode, `--threads` intra-op threads), so the ONNX file,
onnxruntime-node and PyTorch run the same model with the same weights.

    python3 bench/onnx_torch_anchor.py --data DIR --out DIR [--epochs 1] [--repeats 30] [--threads 1]

DIR holds x.f32 (float32 [n, 784], standardised as Parsimony standardises) and y.u8 (labels).
Prints one JSON line per model: {"model", "file", "params", "train_seconds", "torch": {"1": ms, "32": ms}}.
LeNet-5 is the Caffe variant the zoo defines (no activation after the convolutions); MobileNetV2 is
torchvision's with width 0.35, a one-channel first convolution and 10 classes, on 28x28 images.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument('--data', required=True)
parser.add_argument('--out', required=True)
parser.add_argument('--epochs', type=int, default=1)
parser.add_argument('--repeats', type=int, default=30)
parser.add_argument('--threads', type=int, default=1)
parser.add_argument('--models', default='lenet-300-100,lenet-5,mobilenet-v2')
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

x = torch.from_numpy(np.fromfile(os.path.join(args.data, 'x.f32'), dtype=np.float32).reshape(-1, 1, 28, 28))
y = torch.from_numpy(np.fromfile(os.path.join(args.data, 'y.u8'), dtype=np.uint8).astype(np.int64))


def lenet300100():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 300), torch.nn.ReLU(),
                               torch.nn.Linear(300, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))


def lenet5():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 20, 5), torch.nn.MaxPool2d(2), torch.nn.Conv2d(20, 50, 5),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(800, 500), torch.nn.ReLU(),
                               torch.nn.Linear(500, 10))


def mobilenet():
    net = torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.35)
    first = net.features[0][0]
    net.features[0][0] = torch.nn.Conv2d(1, first.out_channels, 3, stride=2, padding=1, bias=False)
    return net


BUILD = {'lenet-300-100': lenet300100, 'lenet-5': lenet5, 'mobilenet-v2': mobilenet}

for name in args.models.split(','):
    net = BUILD[name]()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    start = time.perf_counter()
    net.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(y))
        for i in range(0, len(y), 128):
            batch = order[i:i + 128]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    train_seconds = time.perf_counter() - start
    net.eval()
    # The graph ends in softmax, as the zoo's models do; argmax is the same.
    model = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()
    file = os.path.join(args.out, f'{name}.onnx')
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), file, opset_version=13, input_names=['input'],
                      output_names=['output'], dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
    latency = {}
    with torch.inference_mode():
        for batch in (1, 32):
            xb = x[:batch].clone()
            model(xb)  # warm-up
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                model(xb)
                times.append((time.perf_counter() - t0) * 1000)
            latency[str(batch)] = statistics.median(times)
    print(json.dumps({'model': name, 'file': file, 'params': sum(p.numel() for p in net.parameters()),
                      'train_seconds': train_seconds, 'torch': latency, 'torch_version': torch.__version__}),
          flush=True)
