#!/usr/bin/env python3
"""Red-team load on `torchvision-resnet serve`, on loopback only: what an attacker who can reach the port can send,
and what it costs the server. Each phase reports the statuses it got and the server's resident memory (peak and
after) against its memory budget:

  1. tiny declared shapes: 95-byte v2 requests declaring [13000, 3, 224, 224], five in a row, then eight at once;
  2. heavy legal requests at once: 9400x9400 PNGs (257 KB each, under PIL's pixel limit), and 17 MB v2 JSON bodies
     of 16 preprocessed images;
  3. slow bodies: connections that send a request body a byte a second, while a client sends real photos.

    /usr/bin/python3 benchmarks/serve_redteam.py [--model resnet50] [--budget-mb 1024] [--concurrency 8]

Needs the app built (dotnet build src/Inference -c Release) and python3-pil. Every request goes to 127.0.0.1 and
every loop is bounded in count and time.
"""

import argparse
import base64
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "src", "Inference", "bin", "Release", "net10.0", "torchvision-resnet.dll")
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from compare import cpu_model  # noqa: E402
from serve_load import wait_ready  # noqa: E402


def memory_mb(pid, field):
    """VmRSS (now) or VmHWM (the peak since start) of the process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def post(url, body, content_type="application/json", timeout=120):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError as e:
        return type(e).__name__


def at_once(count, send):
    """Runs send() on count threads at once; the statuses, counted."""
    statuses = [None] * count
    threads = [threading.Thread(target=lambda i=i: statuses.__setitem__(i, send())) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    counts = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return counts


def png(side):
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (120, 60, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def slow_body(port, seconds):
    """A request whose body arrives a byte a second; what the server did with it."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds + 30) as s:
        s.sendall(b"POST /predictions/m HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
        start = time.time()
        try:
            while time.time() - start < seconds:
                s.sendall(b"x")
                time.sleep(1)
            return "held open"
        except OSError:
            return f"closed by the server after {time.time() - start:.0f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--weights", help="a checkpoint (default: seeded weights written by PyTorch here)")
    parser.add_argument("--budget-mb", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--slow-seconds", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        weights = args.weights
        if weights is None:
            import torch
            import torchvision
            weights = os.path.join(scratch, f"{args.model}.pth")
            torch.manual_seed(0)
            torch.save(getattr(torchvision.models, args.model)().state_dict(), weights)
        server = subprocess.Popen(["dotnet", APP, "serve", "--model", args.model, "--weights", weights, "--name", "m",
                                   "--port", str(args.port), "--memory-budget-mb", str(args.budget_mb)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        infer = f"{base}/v2/models/m/infer"
        try:
            wait_ready(f"{base}/v2/health/ready", server)
            baseline = memory_mb(server.pid, "VmRSS")
            print(f"# serve red team, {args.model}, budget {args.budget_mb} MB, {cpu_model()}, {time.strftime('%Y-%m-%d')}")
            print(f"resident after warm-up: {baseline:.0f} MB\n")
            print("| phase | statuses | peak RSS (MB) | RSS after (MB) |")
            print("|---|---|---|---|")

            def report(phase, counts):
                peak = memory_mb(server.pid, "VmHWM")
                time.sleep(15)
                print(f"| {phase} | {counts} | {peak:.0f} | {memory_mb(server.pid, 'VmRSS'):.0f} |", flush=True)

            tiny = b'{"inputs":[{"name":"input","datatype":"FP32","shape":[13000,3,224,224],"data":[0]}]}'
            sequential = {}
            for _ in range(5):
                status = post(infer, tiny)
                sequential[status] = sequential.get(status, 0) + 1
            report(f"{len(tiny)}-byte declared shape x5", sequential)
            report(f"{len(tiny)}-byte declared shape, {args.concurrency} at once", at_once(args.concurrency, lambda: post(infer, tiny)))

            big = png(9400)
            report(f"9400x9400 PNG ({len(big) // 1024} KB), {args.concurrency} at once",
                   at_once(args.concurrency, lambda: post(f"{base}/predictions/m", big, "image/png")))

            values = ",".join(["-0.4321"] * (16 * 3 * 224 * 224))
            heavy = ('{"inputs":[{"name":"input","datatype":"FP32","shape":[16,3,224,224],"data":[' + values + ']}]}').encode()
            report(f"v2 JSON of 16 images ({len(heavy) >> 20} MB), 4 at once", at_once(4, lambda: post(infer, heavy)))

            photo = png(800)
            slow = []
            threads = [threading.Thread(target=lambda: slow.append(slow_body(args.port, args.slow_seconds))) for _ in range(50)]
            for t in threads:
                t.start()
            served = {}
            deadline = time.time() + args.slow_seconds
            while time.time() < deadline:
                status = post(f"{base}/predictions/m", photo, "image/png", timeout=30)
                served[status] = served.get(status, 0) + 1
            for t in threads:
                t.join(timeout=args.slow_seconds + 60)
            outcomes = {}
            for s in slow:
                outcomes[s] = outcomes.get(s, 0) + 1
            report(f"50 slow bodies (1 byte/s) for {args.slow_seconds} s; a photo client meanwhile", {"slow": outcomes, "photos": served})
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
