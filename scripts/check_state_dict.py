#!/usr/bin/env python3
"""Checks, in PyTorch, a state dict written by the C# side: torch.load (or safetensors) reads it, a torchvision
model accepts it with load_state_dict(strict=True), and every tensor is bit-identical to a reference file.

    check_state_dict.py FILE --model resnet18 --reference REFERENCE.pth [--num-classes N]

Exits 0 and prints "ok" when all holds; otherwise prints what differs and exits 1.
"""

import argparse
import sys

import torch

from export_weights import builder, read_safetensors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--model", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--num-classes", type=int, default=1000)
    args = parser.parse_args()

    state = read_safetensors(args.file) if args.file.endswith(".safetensors") else torch.load(args.file)
    model = builder(args.model)(num_classes=args.num_classes)
    model.load_state_dict(state, strict=True)
    reference = torch.load(args.reference)
    problems = [k for k in reference if k not in state or state[k].dtype != reference[k].dtype or not torch.equal(state[k], reference[k])]
    if list(state) != list(reference):
        problems.append("key order differs")
    if problems:
        print("differs: " + ", ".join(problems))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
