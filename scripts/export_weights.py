#!/usr/bin/env python3
"""Exports an architecture's official torchvision weights for a machine where the .NET app cannot download them.

    export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.pth
    export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.safetensors

Writes the state dict (torch.save, or safetensors with the 'safetensors' package) and, beside it,
NAME.categories.json with the weights' ImageNet category names. Needs internet and torchvision >= 0.14.
"""

import argparse
import json
import os
import sys

import torch
import torchvision


def export(model, weights, out):
    chosen = torchvision.models.get_model_weights(model)[weights]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=[n for n in torchvision.models.resnet.__all__ if n.islower()], help="a ResNet builder, such as resnet50")
    parser.add_argument("--weights", default="DEFAULT", help="IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT")
    parser.add_argument("--out", required=True, help="output file: .pth/.pt (torch.save) or .safetensors")
    args = parser.parse_args()
    export(args.model, args.weights, args.out)


if __name__ == "__main__":
    main()
