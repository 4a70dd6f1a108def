#!/usr/bin/env python3
"""Load test of `torchvision-resnet serve` against the baseline a Python user would pick (FastAPI + uvicorn + PyTorch
eager, benchmarks/serve_pytorch.py), side by side in one run, on loopback, with Debian's `hey`: the same seeded
weights and JPEG photo, POST /predictions/NAME, concurrency 1, 8 and 32, throughput and p50/p99 latency. Then our
server's saturated throughput against `bench`'s in-process throughput at the server's batch size (the serving
overhead), and with --soak SECONDS, our server's resident memory under steady load.

    /usr/bin/python3 benchmarks/serve_load.py [--models resnet50,resnet18] [--concurrency 1,8,32] [--seconds 20] [--soak 600]

Needs the app built (dotnet build src/Inference -c Release) and Debian's hey, python3-fastapi, python3-uvicorn,
python3-torch and python3-torchvision. One server runs at a time; each is warmed up first.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "src", "Inference", "bin", "Release", "net10.0", "torchvision-resnet.dll")
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from compare import cpu_model  # noqa: E402


def wait_ready(url, process, seconds=180):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited with {process.returncode} before it was ready: {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"the server was not ready within {seconds} s: {url}")


def hey(url, image, concurrency, seconds):
    """hey's throughput, p50 and p99 latency (ms), and the requests that did not get 200."""
    done = subprocess.run(["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST", "-D", image,
                           "-T", "application/octet-stream", url], capture_output=True, text=True, check=True)
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", out).group(1)) * 1000
    # hey leaves out the 99% line when too few requests finished to have one: then the slowest stands in.
    p99 = float((re.search(r"99%+ in ([\d.]+) secs", out) or re.search(r"Slowest:\s+([\d.]+) secs", out)).group(1)) * 1000
    statuses = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
    failed = sum(int(n) for code, n in statuses.items() if code != "200")
    # Requests that got no response at all (refused, reset) are listed under "Error distribution".
    if "Error distribution:" in out:
        failed += sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s", out.split("Error distribution:", 1)[1], re.MULTILINE))
    return {"rps": rps, "p50": p50, "p99": p99, "errors": failed}


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def serve(name, command, ready, predict, image, concurrencies, seconds):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(ready, process)
        hey(predict, image, 4, 3)  # warm-up
        results = {c: hey(predict, image, c, seconds) for c in concurrencies}
        results["rss_mb"] = rss_mb(process.pid)
        return results
    finally:
        process.terminate()
        process.wait(60)


def soak(weights, image, seconds, port):
    command = ["dotnet", APP, "serve", "--model", "resnet18", "--weights", weights, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready", process)
        load = subprocess.Popen(["hey", "-z", f"{seconds}s", "-c", "8", "-m", "POST", "-D", image, "-T", "application/octet-stream",
                                 f"http://127.0.0.1:{port}/predictions/resnet18"], stdout=subprocess.PIPE, text=True)
        samples = []
        start = time.time()
        while load.poll() is None:
            samples.append((time.time() - start, rss_mb(process.pid)))
            time.sleep(min(30, max(1, seconds / 20)))
        out = load.stdout.read()
        statuses = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
        return samples, statuses
    finally:
        process.terminate()
        process.wait(60)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet50,resnet18")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--soak", type=int, default=0, help="seconds of steady load on our resnet18 server, reporting its memory")
    parser.add_argument("--port", type=int, default=18090)
    args = parser.parse_args()
    if not os.path.exists(APP):
        sys.exit(f"{APP} is missing: run dotnet build src/Inference -c Release first")
    import torch
    import torchvision
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    print(f"{cpu_model()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; hey -z {args.seconds}s per row, "
          f"POST /predictions/NAME with a 1024x768 JPEG; our server: --max-batch-size {args.max_batch_size}, default backend\n")
    rows, overhead = [], []
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "photos.py"), scratch, "--count", "3"], check=True)
        image = os.path.join(scratch, "photo_002.jpg")  # 1024x768
        env = {**os.environ, "TORCH_HOME": os.path.join(scratch, "torch-home")}
        os.environ["TORCH_HOME"] = env["TORCH_HOME"]
        for model in args.models.split(","):
            weights = os.path.join(scratch, f"{model}.pth")
            torch.manual_seed(0)
            torch.save(getattr(torchvision.models, model)().state_dict(), weights)
            port = args.port
            ours = serve("ours", ["dotnet", APP, "serve", "--model", model, "--weights", weights, "--host", "127.0.0.1", "--port", str(port),
                                  "--max-batch-size", str(args.max_batch_size)],
                         f"http://127.0.0.1:{port}/v2/health/ready", f"http://127.0.0.1:{port}/predictions/{model}", image, concurrencies, args.seconds)
            theirs = serve("fastapi", [sys.executable, os.path.join(ROOT, "benchmarks", "serve_pytorch.py"), "--model", model, "--weights", weights,
                                       "--port", str(port + 1)],
                           f"http://127.0.0.1:{port + 1}/openapi.json", f"http://127.0.0.1:{port + 1}/predictions/{model}", image, concurrencies, args.seconds)
            rows.append((model, ours, theirs))
            bench = json.loads(subprocess.run(["dotnet", APP, "bench", "--model", model, "--batch-size", str(args.max_batch_size), "--iters", "10", "--json"],
                                              capture_output=True, text=True, check=True).stdout)
            overhead.append((model, bench["results"][0]["images_per_second"], ours[max(concurrencies)]["rps"]))

        print("| model | concurrency | ours req/s | ours p50 ms | ours p99 ms | ours failed | FastAPI + PyTorch req/s | p50 ms | p99 ms | failed | ours vs FastAPI |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for model, ours, theirs in rows:
            for c in concurrencies:
                o, t = ours[c], theirs[c]
                print(f"| {model} | {c} | {o['rps']:.1f} | {o['p50']:.0f} | {o['p99']:.0f} | {o['errors']} | {t['rps']:.1f} | {t['p50']:.0f} | {t['p99']:.0f} | {t['errors']} | {o['rps'] / t['rps']:.2f}x |")
        print("\nResident memory after the load (MB): " + "; ".join(f"{m}: ours {o['rss_mb']:.0f}, FastAPI {t['rss_mb']:.0f}" for m, o, t in rows))
        print(f"\n| model | bench in-process images/s (batch {args.max_batch_size}, random tensors: no decoding) | served at concurrency {max(concurrencies)} req/s | served vs in-process |")
        print("|---|---|---|---|")
        for model, in_process, served in overhead:
            print(f"| {model} | {in_process:.1f} | {served:.1f} | {served / in_process:.2f}x |")

        if args.soak:
            samples, statuses = soak(os.path.join(scratch, "resnet18.pth") if "resnet18" in args.models else weights, image, args.soak, args.port + 2)
            print(f"\nSoak: resnet18, hey -c 8 for {args.soak} s; responses by status {statuses}")
            print("| seconds | resident MB |\n|---|---|")
            for t, mb in samples:
                print(f"| {t:.0f} | {mb:.0f} |")


if __name__ == "__main__":
    main()
