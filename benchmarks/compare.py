#!/usr/bin/env python3
"""Runs the inference benchmark side by side and prints the ratios as a Markdown table.

For each model and batch size, in interleaved rounds whose order rotates (these machines are noisy; the table shows
each case's median over the rounds): PyTorch eager and frozen TorchScript (scripts/bench_pytorch.py), our TorchSharp model plain and
fast (FusedResNet), and ONNX Runtime 1.31 on our ONNX export (the `export` command, BatchNorm folded, 224x224) and
on torch.onnx.export's (224x224) of the same weights, both loaded from files the same way, all with the same threads.

    /usr/bin/python3 benchmarks/compare.py [--models resnet50,resnet18] [--batch-size 1,8] [--iters 20] [--rounds 3] [--threads 2]

Needs Debian's python3-torch and python3-torchvision, and the app built: dotnet build src/Inference -c Release.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "src", "Inference", "bin", "Release", "net10.0", "torchvision-resnet.dll")


def run(command):
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def torch_onnx(model, path, weights):
    """PyTorch's own ONNX export of the architecture, for ONNX Runtime's reference speed, and its weights for ours."""
    import torch
    import torchvision
    net = getattr(torchvision.models, model)().eval()
    torch.save(net.state_dict(), weights)
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet50,resnet18")
    parser.add_argument("--batch-size", default="1,8")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not os.path.exists(APP):
        sys.exit(f"{APP} is missing: run dotnet build src/Inference -c Release first")

    common = ["--batch-size", args.batch_size, "--iters", str(args.iters), "--threads", str(args.threads)]
    python = [sys.executable, os.path.join(ROOT, "scripts", "bench_pytorch.py")]
    dotnet = ["dotnet", APP, "bench", "--json"]
    table = []
    with tempfile.TemporaryDirectory() as scratch:
        for model in args.models.split(","):
            exported = os.path.join(scratch, f"{model}-torch.onnx")
            weights = os.path.join(scratch, f"{model}.pth")
            torch_onnx(model, exported, weights)
            ours = os.path.join(scratch, f"{model}-ours.onnx")
            subprocess.run(["dotnet", APP, "export", "--model", model, "--weights", weights, "--out", ours, "--fold-bn"],
                           check=True, capture_output=True)
            cases = {
                "PyTorch eager": python + ["--model", model] + common,
                "PyTorch TorchScript": python + ["--model", model, "--script"] + common,
                "TorchSharp plain": dotnet + ["--model", model, "--fast", "false"] + common,
                "TorchSharp fast": dotnet + ["--model", model] + common,
                "ORT, our export": dotnet + ["--model", model, "--backend", "onnxruntime", "--onnx", ours] + common,
                "ORT, torch.onnx.export": dotnet + ["--model", model, "--backend", "onnxruntime", "--onnx", exported] + common,
            }
            times = {name: {} for name in cases}
            memory = {name: {} for name in cases}
            names = list(cases)
            for round in range(args.rounds):
                # Rotate the order each round, so that drift in the machine's load favours no case.
                for name in names[round % len(names):] + names[:round % len(names)]:
                    command = cases[name]
                    for row in run(command)["results"]:
                        times[name].setdefault(row["batch_size"], []).append(row["median_ms"])
                        memory[name][row["batch_size"]] = row["peak_rss_mb"]
            for batch in sorted(next(iter(times.values()))):
                ms = {name: statistics.median(times[name][batch]) for name in cases}
                table.append((model, batch, ms, {name: memory[name][batch] for name in cases}))

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads, "
          f"median of {args.rounds} rounds of {args.iters} iterations\n")
    names = list(table[0][2])
    print("| model | batch | " + " | ".join(f"{n} ms" for n in names) + " | fast vs PyTorch eager | fast vs ORT | our export vs torch's (ORT) |")
    print("|" + "---|" * (len(names) + 5))
    for model, batch, ms, _ in table:
        cells = " | ".join(f"{ms[n]:.1f}" for n in names)
        print(f"| {model} | {batch} | {cells} | {ms['PyTorch eager'] / ms['TorchSharp fast']:.2f}x "
              f"| {ms['ORT, our export'] / ms['TorchSharp fast']:.2f}x | {ms['ORT, torch.onnx.export'] / ms['ORT, our export']:.2f}x |")
    print("\nPeak resident memory (MB), per process:\n")
    print("| model | batch | " + " | ".join(names) + " |")
    print("|" + "---|" * (len(names) + 2))
    for model, batch, _, mb in table:
        print(f"| {model} | {batch} | " + " | ".join(f"{mb[n]:.0f}" for n in names) + " |")


if __name__ == "__main__":
    main()
