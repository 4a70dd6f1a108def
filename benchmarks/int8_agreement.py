#!/usr/bin/env python3
"""How far int8 lands from float32 on the same images: `classify --json` run both ways on IMAGES, then per image
the top-1 agreement and the top-5 overlap (how many of int8's five are among float32's). With --data (an
ImageFolder tree, one folder per class), also `evaluate`'s top-1 and top-5 accuracy both ways.

    /usr/bin/python3 benchmarks/int8_agreement.py --weights W [--model M] --calibration DIR [--calibration-count 256]
        [--calibration-method minmax] [--data VAL] IMAGES

Needs the app built: dotnet build src/Inference -c Release. Prints Markdown, under the CPU's model name.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from compare import APP, cpu_model  # noqa: E402


def app(*arguments):
    done = subprocess.run(["dotnet", APP, *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--model")
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--calibration-count", default="256")
    parser.add_argument("--calibration-method", default="minmax")
    parser.add_argument("--data")
    args = parser.parse_args()
    model = ["--weights", args.weights] + (["--model", args.model] if args.model else [])
    int8 = ["--dtype", "int8", "--calibration", args.calibration, "--calibration-count", args.calibration_count,
            "--calibration-method", args.calibration_method]

    ran = {name: {r["file"]: [t["index"] for t in r["top"]] for r in app("classify", "--json", *model, *extra, args.images)["results"] if "top" in r}
           for name, extra in (("float32", []), ("int8", int8))}
    files = sorted(ran["float32"])
    top1 = sum(ran["float32"][f][0] == ran["int8"][f][0] for f in files) / len(files)
    overlap = sum(len(set(ran["float32"][f]) & set(ran["int8"][f])) for f in files) / (5 * len(files))
    print(f"{cpu_model()}; {args.weights}, calibrated on {args.calibration_count} images of {args.calibration} by {args.calibration_method}\n")
    print(f"| images | int8 top-1 = float32 top-1 | top-5 overlap |\n|---|---|---|\n| {len(files)} | {100 * top1:.2f}% | {100 * overlap:.2f}% |")
    if args.data:
        print("\n| dtype | top-1 | top-5 |\n|---|---|---|")
        for name, extra in (("float32", []), ("int8", int8)):
            result = app("evaluate", "--json", *model, *extra, "--data", args.data)
            print(f"| {name} | {result['top1']:.2f}% | {result['top5']:.2f}% |")


if __name__ == "__main__":
    main()
