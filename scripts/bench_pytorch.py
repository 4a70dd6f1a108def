#!/usr/bin/env python3
"""PyTorch's side of the benchmark: the cases `torchvision-resnet bench` measures, in eager mode (and frozen
TorchScript with --script, or in bfloat16/float16 with --dtype), printed as the same JSON document. With --train,
training steps as the bench's: forward, cross-entropy, backward, SGD (lr 0.1, momentum 0.9, weight decay 1e-4).

    bench_pytorch.py --model resnet50 --batch-size 1,8 --iters 20 [--threads 2] [--script] [--dtype bfloat16] [--train]
"""

import argparse
import json
import resource
import statistics
import time

import torch
import torchvision


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch-size", default="1,8")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--script", action="store_true", help="run torch.jit.freeze(torch.jit.script(model))")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--train", action="store_true", help="time training steps instead of inference")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = getattr(torchvision.models, args.model)()
    dtype = getattr(torch, args.dtype)
    if args.train:
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    else:
        model = model.eval().to(dtype)
        if args.script:
            model = torch.jit.freeze(torch.jit.script(model))
    rows = []
    for batch in (int(b) for b in args.batch_size.split(",")):
        x = torch.randn(batch, 3, args.input_size, args.input_size).to(dtype)
        if args.train:
            target = torch.randint(0, model.fc.out_features, (batch,))

            def step():
                loss = torch.nn.functional.cross_entropy(model(x), target)
                loss.backward()
                loss.item()
                optimizer.step()
                optimizer.zero_grad()
        else:
            def step():
                with torch.inference_mode():
                    model(x)
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.iters):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        median = times[len(times) // 2]
        rows.append({
            "batch_size": batch, "median_ms": median, "p90_ms": times[min(len(times) - 1, -(-len(times) * 9 // 10) - 1)],
            "images_per_second": batch * 1000 / median,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        })
    backend = "pytorch-script" if args.script else "pytorch"
    mode = "train" if args.train else "inference"
    print(json.dumps({"model": args.model, "backend": backend, "dtype": args.dtype, "mode": mode,
                      "threads": torch.get_num_threads(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
