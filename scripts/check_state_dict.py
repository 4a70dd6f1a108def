#!/usr/bin/env python3
"""Checks, in PyTorch, a state dict written by the C# side: torch.load (or safetensors) reads it, a torchvision
model accepts it with load_state_dict(strict=True), and every tensor is bit-identical to a reference file, or has
the key, dtype, shape and SHA-256 that a digests file lists (the test fixtures' format: [key, dtype, shape, sha256]).

    check_state_dict.py FILE --model resnet18 (--reference REFERENCE.pth | --digests DIGESTS.json) [--num-classes N]

With --optimizer sgd|adamw, FILE is a training checkpoint ({"model", "optimizer", "epoch", "metadata"}): its model
must load strictly and its optimizer state into a torch.optim optimizer over the model's parameters, with a state
entry (same shapes) for every parameter; REFERENCE is then not compared.

Exits 0 and prints "ok" when all holds; otherwise prints what differs and exits 1.
"""

import argparse
import hashlib
import json
import sys

import torch
from torchvision.models import resnet


def read_safetensors(path):
    """safetensors without the safetensors package (not packaged for Debian 12): a JSON header, then the bytes."""
    with open(path, "rb") as f:
        data = f.read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    dtypes = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
    body = data[8 + length:]
    result = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.uint8)
        result[key] = raw.view(dtypes[entry["dtype"]]).reshape(entry["shape"])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--model", required=True)
    parser.add_argument("--reference")
    parser.add_argument("--digests")
    parser.add_argument("--optimizer", choices=["sgd", "adamw"])
    parser.add_argument("--num-classes", type=int, default=1000)
    args = parser.parse_args()

    model = getattr(resnet, args.model)(num_classes=args.num_classes)
    if args.optimizer:
        check_checkpoint(args.file, model, args.optimizer)
        return
    state = read_safetensors(args.file) if args.file.endswith(".safetensors") else torch.load(args.file)
    model.load_state_dict(state, strict=True)
    if args.digests:
        check_digests(state, args.digests)
        return
    reference = torch.load(args.reference)
    problems = [k for k in reference if k not in state or state[k].dtype != reference[k].dtype or not torch.equal(state[k], reference[k])]
    if list(state) != list(reference):
        problems.append("key order differs")
    if problems:
        print("differs: " + ", ".join(problems))
        sys.exit(1)
    print("ok")


def check_digests(state, path):
    with open(path) as f:
        expected = json.load(f)
    actual = [[k, str(v.dtype).replace("torch.", ""), list(v.shape), hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest()]
              for k, v in state.items()]
    if actual != expected:
        differs = [e[0] for e, a in zip(expected, actual) if e != a] + (["key count"] if len(actual) != len(expected) else [])
        print("differs: " + ", ".join(differs))
        sys.exit(1)
    print("ok")


def check_checkpoint(path, model, name):
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint["model"], strict=True)
    parameters = list(model.parameters())
    optimizer = torch.optim.SGD(parameters, lr=1) if name == "sgd" else torch.optim.AdamW(parameters)
    optimizer.load_state_dict(checkpoint["optimizer"])
    missing = [i for i, p in enumerate(parameters) if p not in optimizer.state]
    wrong = [i for i, p in enumerate(parameters) if p in optimizer.state and any(
        torch.is_tensor(v) and v.dim() > 0 and v.shape != p.shape for v in optimizer.state[p].values())]
    if missing or wrong:
        print(f"differs: no state for parameters {missing}, wrong shapes for {wrong}")
        sys.exit(1)
    print(f"ok epoch={checkpoint['epoch']} lr={optimizer.param_groups[0]['lr']}")


if __name__ == "__main__":
    main()
