#!/usr/bin/env python3
"""The PyTorch side of TorchVisionResNet.

Two jobs:

  For users (needs internet and torchvision >= 0.13): export an architecture's official weights for a
  machine where the .NET app cannot download them.

      export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.pth
      export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.safetensors

  For the tests: write PyTorch's ground truth (architectures, seeded initial weights, forward outputs)
  into a folder the xunit suite reads.

      export_weights.py --fixtures tests/fixtures

Runs on Debian's python3-torch 1.13 / python3-torchvision 0.14 and on current PyTorch.
"""

import argparse
import json
import os
import sys

import torch
import torchvision
from torchvision.models import resnet
from torchvision.ops import FrozenBatchNorm2d

ARCHITECTURES = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
]

SEED = 0


def builder(name):
    return getattr(resnet, name)


def export_official(model, weights, out):
    """Saves torchvision's official weights as a state dict, plus their categories as JSON beside them."""
    enum = torchvision.models.get_model_weights(model)
    chosen = enum[weights]
    state_dict = chosen.get_state_dict(progress=True)
    if out.endswith(".safetensors"):
        try:
            from safetensors.torch import save_file
        except ImportError:
            sys.exit("writing .safetensors needs the 'safetensors' package: pip install safetensors")
        save_file({k: v.contiguous() for k, v in state_dict.items()}, out)
    else:
        torch.save(state_dict, out)
    categories = os.path.splitext(out)[0] + ".categories.json"
    with open(categories, "w") as f:
        json.dump(chosen.meta["categories"], f, indent=1)
    print(f"wrote {out} and {categories}")


# ---- fixtures -----------------------------------------------------------------------------------------------

def architectures(directory):
    """Parameter count and state_dict keys with shapes, in order, for all ten builders."""
    result = {}
    for name in ARCHITECTURES:
        model = builder(name)()
        result[name] = {
            "num_params": sum(p.numel() for p in model.parameters()),
            "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    write_json(directory, "architectures.json", result)


# Seeded initial weights: the C# port must draw the same random numbers in the same order.
INIT_CASES = {
    "resnet18": dict(arch="resnet18", kwargs={}),
    "resnet50": dict(arch="resnet50", kwargs={}),
    "resnext50_32x4d": dict(arch="resnext50_32x4d", kwargs={}),
    "resnet18_zero_init_residual": dict(arch="resnet18", kwargs={"zero_init_residual": True}),
    "resnet50_zero_init_residual": dict(arch="resnet50", kwargs={"zero_init_residual": True}),
    "resnet50_dilation_ftt": dict(arch="resnet50", kwargs={"replace_stride_with_dilation": [False, True, True]}),
    "resnet18_groupnorm": dict(arch="resnet18", kwargs={"norm_layer": lambda c: torch.nn.GroupNorm(32, c)}),
    "resnet18_num_classes_10": dict(arch="resnet18", kwargs={"num_classes": 10}),
}


def initial_weights(directory):
    for case, spec in INIT_CASES.items():
        torch.manual_seed(SEED)
        model = builder(spec["arch"])(**spec["kwargs"])
        torch.save(model.state_dict(), os.path.join(directory, f"init_{case}.pt"))


# Forward parity: weights with non-trivial norm statistics, an input, and PyTorch's outputs.
# Inputs keep layer4 at least 4x4 where train mode is checked: batch statistics over fewer values
# amplify float noise past any meaningful tolerance.
FORWARD_CASES = {
    "resnet18": dict(arch="resnet18", kwargs={}, input=[2, 3, 128, 128]),
    "resnet18_nonsquare": dict(arch="resnet18", kwargs={}, input=[1, 3, 160, 224]),
    "resnet34": dict(arch="resnet34", kwargs={}, input=[2, 3, 128, 128]),
    "resnet50": dict(arch="resnet50", kwargs={}, input=[2, 3, 128, 128]),
    "resnext50_32x4d": dict(arch="resnext50_32x4d", kwargs={}, input=[2, 3, 128, 128]),
    "wide_resnet50_2": dict(arch="wide_resnet50_2", kwargs={}, input=[2, 3, 128, 128]),
    "resnet50_dilation_ftt": dict(arch="resnet50", kwargs={"replace_stride_with_dilation": [False, True, True]},
                                  input=[1, 3, 96, 128]),
    "resnet18_groupnorm": dict(arch="resnet18", kwargs={"norm_layer": lambda c: torch.nn.GroupNorm(32, c)},
                               input=[2, 3, 128, 128]),
    "resnet18_frozenbn": dict(arch="resnet18", kwargs={"norm_layer": FrozenBatchNorm2d}, input=[2, 3, 128, 128]),
    "resnet50_num_classes_10": dict(arch="resnet50", kwargs={"num_classes": 10}, input=[2, 3, 128, 128]),
}


def randomize_norms(model, generator):
    """Random affine parameters and running statistics, so that eval mode exercises them."""
    def fill(t, low, high):
        t.copy_(torch.rand(t.shape, generator=generator) * (high - low) + low)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm, FrozenBatchNorm2d)):
                fill(m.weight, 0.75, 1.25)
                fill(m.bias, -0.25, 0.25)
            if isinstance(m, (torch.nn.BatchNorm2d, FrozenBatchNorm2d)):
                fill(m.running_mean, -0.25, 0.25)
                fill(m.running_var, 0.5, 1.5)


def forward_outputs(directory):
    for case, spec in FORWARD_CASES.items():
        torch.manual_seed(SEED)
        generator = torch.Generator().manual_seed(SEED + 1)
        model = builder(spec["arch"])(**spec["kwargs"])
        randomize_norms(model, generator)
        x = torch.rand(spec["input"], generator=generator) * 2 - 1
        torch.save(model.state_dict(), os.path.join(directory, f"forward_{case}.weights.pt"))
        model.eval()
        with torch.no_grad():
            eval_out = model(x)
        model.train()
        with torch.no_grad():
            train_out = model(x)
        torch.save({"input": x, "eval": eval_out, "train": train_out},
                   os.path.join(directory, f"forward_{case}.io.pt"))


def write_json(directory, name, value):
    with open(os.path.join(directory, name), "w") as f:
        json.dump(value, f, indent=1)


def fixtures(directory):
    os.makedirs(directory, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    architectures(directory)
    initial_weights(directory)
    forward_outputs(directory)
    write_json(directory, "versions.json", {"torch": torch.__version__, "torchvision": torchvision.__version__})
    print(f"wrote fixtures to {directory} (torch {torch.__version__}, torchvision {torchvision.__version__})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=ARCHITECTURES, help="architecture whose official weights to export")
    parser.add_argument("--weights", default="DEFAULT", help="IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT")
    parser.add_argument("--out", help="output file: .pth/.pt (torch.save) or .safetensors")
    parser.add_argument("--fixtures", metavar="DIR", help="write the test suite's PyTorch ground truth into DIR")
    args = parser.parse_args()
    if args.fixtures:
        fixtures(args.fixtures)
    elif args.model and args.out:
        export_official(args.model, args.weights, args.out)
    else:
        parser.error("give --fixtures DIR, or --model and --out")


if __name__ == "__main__":
    main()
