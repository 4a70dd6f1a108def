#!/usr/bin/env python3
"""Runs the benchmarks side by side, in one run, and prints each as a Markdown table under the CPU's model name.

Three parts (--parts, all by default):

inference: for each model and batch size, in interleaved rounds whose order rotates (these machines are noisy; the table shows
each case's median over the rounds): PyTorch eager and frozen TorchScript (scripts/bench_pytorch.py), our TorchSharp model plain and
fast (FusedResNet), the default backend (what `classify` runs: auto), and ONNX Runtime 1.31 on our ONNX export
(the `export` command, BatchNorm folded, 224x224) and on torch.onnx.export's (224x224) of the same weights, both
loaded from files the same way, all with the same threads.

classify: `classify` end to end on --photos JPEG photos (benchmarks/photos.py writes them), decode, preprocess, infer
and print, against benchmarks/classify_pytorch.py (the classic script with a DataLoader of 2 workers, batch 8), the
same seeded ResNet-50 weights; whole processes, start-up included, and our first run (export not yet cached) apart.

train: training steps (forward, cross-entropy, backward, SGD), PyTorch eager against ours, for the cases in
--train-cases (model:batch:size, default resnet18:64:64,resnet50:16:224).

    /usr/bin/python3 benchmarks/compare.py [--parts inference,classify,train] [--models resnet50,resnet18]
        [--batch-size 1,8] [--iters 20] [--rounds 3] [--threads 2] [--bf16] [--int8] [--batch-job] [--photos 200]

--int8 adds int8: our export quantized (export --quantize int8, calibrated on --calibration-count photos from
benchmarks/photos.py) on ONNX Runtime, against our float32 default; and in classify, `classify --dtype int8` (its first
run, which calibrates and caches the export, apart).

--batch-job adds, in classify, the batch job's ways of running: `classify --output` (JSON Lines, resumable) against
plain `classify`, and two shards (`--shard 0/2`, `--shard 1/2`) of one thread each, run at once, against one process
of two threads.

--bf16 adds both sides in bfloat16 (PyTorch eager with the model and input cast, our fast path with --dtype bfloat16).
--pointwise-kernels onednn,matmul adds our TorchSharp cases once per kernel for 1x1 convolutions
(TORCHVISION_RESNET_POINTWISE_KERNEL; see the README's platform notes), to measure what the AMD workaround costs.
A case whose process dies (oneDNN's SIGFPE on AMD with --pointwise-kernels onednn) is reported as "died", not fatal.

Needs Debian's python3-torch, python3-torchvision and python3-skimage, and the app built: dotnet build src/Inference -c Release.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "src", "Inference", "bin", "Release", "net10.0", "torchvision-resnet.dll")


def run(command):
    """One benchmark process's JSON report; None when it dies or fails (the table says so)."""
    command, env = (command[1:], {**os.environ, **command[0]}) if isinstance(command[0], dict) else (command, None)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"died (exit {done.returncode}): {' '.join(command)}", file=sys.stderr)
        return None
    return json.loads(done.stdout)


def torch_onnx(model, path, weights):
    """PyTorch's own ONNX export of the architecture, for ONNX Runtime's reference speed, and its weights for ours."""
    import torch
    import torchvision
    net = getattr(torchvision.models, model)().eval()
    torch.save(net.state_dict(), weights)
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def rotate(cases, rounds):
    """Runs every case once per round, the order rotating each round so that drift in the machine's load favours no
    case; returns each case's per-round medians and its peak memory, by batch size."""
    times = {name: {} for name in cases}
    memory = {name: {} for name in cases}
    names = list(cases)
    for round in range(rounds):
        for name in names[round % len(names):] + names[:round % len(names)]:
            for row in (run(cases[name]) or {"results": []})["results"]:
                times[name].setdefault(row["batch_size"], []).append(row["median_ms"])
                memory[name][row["batch_size"]] = row["peak_rss_mb"]
    return times, memory


def cpu_model():
    """The CPU's model name, which the numbers belong to."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def median(values):
    return statistics.median(values) if values else float("nan")


def cell(value, digits=0, suffix=""):
    """A table cell: the number, or "died" for a case whose process died every round."""
    return "died" if value != value else f"{value:.{digits}f}{suffix}"


def with_kernels(cases, args):
    """Each TorchSharp case once per --pointwise-kernels entry, with the kernel set through the environment."""
    if not args.pointwise_kernels:
        return cases
    out = {}
    for name, command in cases.items():
        if "TorchSharp" not in name:
            out[name] = command
            continue
        for kernel in args.pointwise_kernels.split(","):
            out[f"{name} ({kernel})"] = [{"TORCHVISION_RESNET_POINTWISE_KERNEL": kernel}] + command
    return out


def print_machine(args):
    print(f"{cpu_model()}, {os.cpu_count()} cores, {args.threads} threads, median of {args.rounds} rounds "
          f"(inference {args.iters} iterations, training {args.train_iters}), {time.strftime('%Y-%m-%d')}")


def compare_training(args):
    python = [sys.executable, os.path.join(ROOT, "scripts", "bench_pytorch.py"), "--train"]
    dotnet = ["dotnet", APP, "bench", "--json", "--train"]
    rows = []
    for case in args.train_cases.split(","):
        model, batch, size = case.split(":")
        common = ["--model", model, "--batch-size", batch, "--input-size", size, "--iters", str(args.train_iters),
                  "--warmup", str(args.warmup), "--threads", str(args.threads)]
        cases = with_kernels({"PyTorch eager": python + common, "TorchSharp": dotnet + common}, args)
        times, memory = rotate(cases, args.rounds)
        ms = {name: median(times[name].get(int(batch), [])) for name in cases}
        rows.append((model, batch, size, ms, {name: memory[name].get(int(batch), float("nan")) for name in cases}))
    print("\nTraining steps (forward, cross-entropy, backward, SGD)\n")
    ours = [name for name in rows[0][3] if name != "PyTorch eager"]
    print("| model | batch | input | PyTorch eager ms/step | " + " | ".join(f"{n} ms/step | {n} vs PyTorch" for n in ours) + " |")
    print("|" + "---|" * (4 + 2 * len(ours)))
    for model, batch, size, ms, mb in rows:
        cells = " | ".join(f"{cell(ms[n])} | {cell(ms['PyTorch eager'] / ms[n], 2, 'x')}" for n in ours)
        print(f"| {model} | {batch} | {size}x{size} | {ms['PyTorch eager']:.0f} | {cells} |")
    print("\nPeak resident memory (MB): " + "; ".join(f"{model} b{batch}: " + ", ".join(f"{n} {cell(mb[n])}" for n in mb) for model, batch, _, _, mb in rows))


def calibration_photos(scratch, args):
    """A folder of --calibration-count photos (benchmarks/photos.py, another seed than the classify part's)."""
    folder = os.path.join(scratch, "calibration")
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "photos.py"), folder, "--count", str(args.calibration_count), "--seed", "1"], check=True)
    return folder


def compare_inference(args):
    common = ["--batch-size", args.batch_size, "--iters", str(args.iters), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    python = [sys.executable, os.path.join(ROOT, "scripts", "bench_pytorch.py")]
    dotnet = ["dotnet", APP, "bench", "--json"]
    table = []
    with tempfile.TemporaryDirectory() as scratch:
        calibration = calibration_photos(scratch, args) if args.int8 else None
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
                "TorchSharp plain": dotnet + ["--model", model, "--backend", "torch", "--fast", "false"] + common,
                "TorchSharp fast": dotnet + ["--model", model, "--backend", "torch"] + common,
                "default (auto)": dotnet + ["--model", model] + common,
                "ORT, our export": dotnet + ["--model", model, "--backend", "onnxruntime", "--onnx", ours] + common,
                "ORT, torch.onnx.export": dotnet + ["--model", model, "--backend", "onnxruntime", "--onnx", exported] + common,
            }
            if args.int8:
                quantized = os.path.join(scratch, f"{model}-int8.onnx")
                subprocess.run(["dotnet", APP, "export", "--model", model, "--weights", weights, "--out", quantized, "--quantize", "int8",
                                "--calibration", calibration, "--calibration-count", str(args.calibration_count)], check=True, capture_output=True)
                cases["ORT int8, our export"] = dotnet + ["--model", model, "--backend", "onnxruntime", "--onnx", quantized] + common
            if args.bf16:
                cases["PyTorch eager bf16"] = python + ["--model", model, "--dtype", "bfloat16"] + common
                cases["TorchSharp fast bf16"] = dotnet + ["--model", model, "--backend", "torch", "--dtype", "bfloat16"] + common
            cases = with_kernels(cases, args)
            times, memory = rotate(cases, args.rounds)
            for batch in sorted(times["PyTorch eager"]):
                ms = {name: median(times[name].get(batch, [])) for name in cases}
                table.append((model, batch, ms, {name: memory[name].get(batch, float("nan")) for name in cases}))

    print("\nInference, median ms per batch\n")
    names = list(table[0][2])
    # The ratios use the first --pointwise-kernels variant of the fast path (the only one without that option).
    fast = next(n for n in names if n.startswith("TorchSharp fast") and "bf16" not in n)
    print("| model | batch | " + " | ".join(f"{n} ms" for n in names)
          + " | default vs PyTorch eager | default vs ORT on torch.onnx.export | fast vs PyTorch eager |")
    print("|" + "---|" * (len(names) + 5))
    for model, batch, ms, _ in table:
        cells = " | ".join(cell(ms[n], 1) for n in names)
        default = ms["default (auto)"]
        print(f"| {model} | {batch} | {cells} | {cell(ms['PyTorch eager'] / default, 2, 'x')} "
              f"| {cell(ms['ORT, torch.onnx.export'] / default, 2, 'x')} | {cell(ms['PyTorch eager'] / ms[fast], 2, 'x')} |")
    if args.int8:
        print("\n| model | batch | int8 vs default (float32) | int8 vs ORT on our float32 export | int8 vs PyTorch eager |")
        print("|---|---|---|---|---|")
        for model, batch, ms, _ in table:
            int8 = ms["ORT int8, our export"]
            print(f"| {model} | {batch} | {cell(ms['default (auto)'] / int8, 2, 'x')} | {cell(ms['ORT, our export'] / int8, 2, 'x')} "
                  f"| {cell(ms['PyTorch eager'] / int8, 2, 'x')} |")
    if args.bf16:
        fast_bf16 = next(n for n in names if n.startswith("TorchSharp fast bf16"))
        print("\n| model | batch | bf16 fast vs PyTorch eager bf16 | bf16 fast vs fp32 fast |")
        print("|---|---|---|---|")
        for model, batch, ms, _ in table:
            print(f"| {model} | {batch} | {ms['PyTorch eager bf16'] / ms[fast_bf16]:.2f}x "
                  f"| {ms[fast] / ms[fast_bf16]:.2f}x |")
    print("\nPeak resident memory (MB), per process:\n")
    print("| model | batch | " + " | ".join(names) + " |")
    print("|" + "---|" * (len(names) + 2))
    for model, batch, _, mb in table:
        print(f"| {model} | {batch} | " + " | ".join(cell(mb[n]) for n in names) + " |")



def compare_classify(args):
    """classify on a folder of photos, whole processes, against the PyTorch script; our first run apart."""
    import torch
    import torchvision
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        photos = os.path.join(scratch, "photos")
        subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "photos.py"), photos, "--count", str(args.photos)], check=True)
        weights = os.path.join(scratch, "resnet50.pth")
        torch.manual_seed(0)
        torch.save(torchvision.models.resnet50().state_dict(), weights)
        env = {**os.environ, "TORCH_HOME": os.path.join(scratch, "torch-home")}
        ours = ["dotnet", APP, "classify", "--weights", weights, "--json", photos]
        cases = {
            "PyTorch script (DataLoader, 2 workers, batch 8)": [sys.executable, os.path.join(ROOT, "benchmarks", "classify_pytorch.py"),
                                                              "--weights", weights, photos],
            "classify (default: auto)": ours,
            "classify --backend torch": ours[:3] + ["--backend", "torch"] + ours[3:],
        }
        if args.batch_job:
            cases["classify --output"] = ours[:3] + ["--output", os.path.join(scratch, "results-{round}.jsonl")] + [a for a in ours[3:] if a != "--json"]
            cases["classify --threads 2"] = ours[:3] + ["--threads", "2"] + ours[3:]
            cases["two shards, --threads 1 each, at once"] = [ours[:3] + ["--threads", "1", "--shard", f"{k}/2"] + ours[3:] for k in (0, 1)]
        if args.int8:
            calibration = calibration_photos(scratch, args)
            cases["classify --dtype int8"] = ours[:3] + ["--dtype", "int8", "--calibration", calibration, "--calibration-count", str(args.calibration_count)] + ours[3:]
            first_int8 = timed(cases["classify --dtype int8"], env)
        first = timed(ours, env)
        for round in range(args.rounds):
            names = list(cases)
            for name in names[round % len(names):] + names[:round % len(names)]:
                rows.setdefault(name, []).append(timed(cases[name], env, round))
    script = median(rows[next(iter(cases))])
    print(f"\n`classify` end to end, {args.photos} JPEG photos (benchmarks/photos.py), ResNet-50, whole processes, "
          f"median of {args.rounds} rounds\n")
    print("| case | seconds | images/s | vs the PyTorch script |")
    print("|---|---|---|---|")
    firsts = [("classify, first run (export made and cached)", first)]
    if args.int8:
        firsts.append(("classify --dtype int8, first run (calibrated, exported and cached)", first_int8))
    for name, seconds in [(n, median(t)) for n, t in rows.items()] + firsts:
        print(f"| {name} | {cell(seconds, 2)} | {cell(args.photos / seconds, 1)} | {cell(script / seconds, 2, 'x')} |")


def timed(command, env, round=0):
    """The wall-clock seconds of a whole command, or of several run at once (a list of commands) until the last ends;
    NaN (reported as died) when one fails. {round} in an argument is the round's number (a fresh output file each)."""
    commands = command if isinstance(command[0], list) else [command]
    start = time.perf_counter()
    running = [subprocess.Popen([a.replace("{round}", str(round)) for a in c], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
               for c in commands]
    failed = False
    for process, c in zip(running, commands):
        _, error = process.communicate()
        if process.returncode != 0:
            print(f"died (exit {process.returncode}): {' '.join(c)}\n{error[-2000:]}", file=sys.stderr)
            failed = True
    return float("nan") if failed else time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="inference,classify,train")
    parser.add_argument("--models", default="resnet50,resnet18")
    parser.add_argument("--batch-size", default="1,8")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("--batch-job", action="store_true")
    parser.add_argument("--calibration-count", type=int, default=256)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--train-cases", default="resnet18:64:64,resnet50:16:224")
    parser.add_argument("--train-iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--pointwise-kernels", default="", help="e.g. onednn,matmul: our cases once per 1x1-convolution kernel")
    args = parser.parse_args()
    if not os.path.exists(APP):
        sys.exit(f"{APP} is missing: run dotnet build src/Inference -c Release first")
    print_machine(args)
    parts = {"inference": compare_inference, "classify": compare_classify, "train": compare_training}
    for part in args.parts.split(","):
        try:
            parts[part](args)
        except Exception as e:  # One part's failure is reported; the others still run.
            print(f"\n{part}: failed: {e}")


if __name__ == "__main__":
    main()
