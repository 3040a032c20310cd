#!/usr/bin/env python3
"""Anchor for bench/zoo-training.ts: milliseconds per training step of torchvision's ResNet-18,
MobileNetV2 and VGG-16 (random data, cross-entropy, Adam 1e-3, one thread).

Needs Debian's python3-torch and python3-torchvision. Prints one JSON line per network:
{"network", "params", "ms_per_step" (median of the timed steps), "steps"}.
Usage: torch_zoo_step.py --network resnet-18|mobilenet-v2|vgg-16 --input-size N --classes K
                         [--alpha A] [--batch 32] [--steps 6] [--threads 1] [--seed 0]
"""
import argparse, json, statistics, time
import torch
import torchvision


def build(name, classes, alpha, size):
    if name == "resnet-18":
        return torchvision.models.resnet18(num_classes=classes)
    if name == "mobilenet-v2":
        return torchvision.models.mobilenet_v2(num_classes=classes, width_mult=alpha)
    if name == "vgg-16":
        # Keras' VGG-16 (the zoo's) flattens the last feature map straight into its classifier;
        # torchvision's pools it to 7x7 first, which at small inputs adds ~100M parameters.
        model = torchvision.models.vgg16(num_classes=classes)
        model.avgpool = torch.nn.Identity()
        model.classifier[0] = torch.nn.Linear(512 * (size // 32) ** 2, 4096)
        return model
    raise SystemExit(f"unknown network {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--network", required=True)
    ap.add_argument("--input-size", type=int, required=True)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = build(a.network, a.classes, a.alpha, a.input_size)
    model.train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, a.input_size, a.input_size)
    y = torch.randint(0, a.classes, (a.batch,))
    times = []
    for step in range(a.steps + 1):  # the first step warms up and is not counted
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        if step > 0:
            times.append((time.perf_counter() - t0) * 1000)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"network": a.network, "params": params, "ms_per_step": statistics.median(times), "steps": a.steps}))


if __name__ == "__main__":
    main()
