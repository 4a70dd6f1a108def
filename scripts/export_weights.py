#!/usr/bin/env python3
"""Exports an architecture's official torchvision weights for a machine where the .NET app cannot download them.

    export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.pth
    export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.safetensors

Writes the state dict (torch.save, or safetensors with the 'safetensors' package) and, beside it, NAME.card.json, the
model card the .NET app reads: the architecture and its options, the categories, the preprocessing and the weights'
name. Needs internet and torchvision >= 0.14.
"""

import argparse
import json
import os
import sys

import torch
import torchvision


def model_card(name, model, categories, resize_size, crop_size, mean, std, weights):
    """The model card of a torchvision ResNet (the format of the library's ModelCard)."""
    norm = type(model.bn1).__name__
    return {
        "architecture": name,
        "num_classes": model.fc.out_features,
        "norm_layer": {"BatchNorm2d": "bn", "FrozenBatchNorm2d": "frozen-bn", "GroupNorm": "gn"}[norm],
        # A stage dilates instead of striding when its first block keeps the resolution.
        "replace_stride_with_dilation": [all(s == 1 for c in layer[0].modules() if isinstance(c, torch.nn.Conv2d) for s in c.stride)
                                         for layer in (model.layer2, model.layer3, model.layer4)],
        "groups": model.groups,
        "width_per_group": model.base_width,
        "categories": list(categories),
        "transforms": {"resize_size": resize_size, "crop_size": crop_size, "mean": list(mean), "std": list(std), "interpolation": "bilinear"},
        "weights": weights,
        "format": "torchvision-resnet-model-card/1",
    }


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
    network = torchvision.models.get_model(model)
    preset = chosen.transforms()
    card = model_card(model, network, chosen.meta["categories"], preset.resize_size[0], preset.crop_size[0], preset.mean, preset.std, str(chosen))
    path = os.path.splitext(out)[0] + ".card.json"
    with open(path, "w") as f:
        json.dump(card, f, indent=1)
    print(f"wrote {out} and its model card, {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=[n for n in torchvision.models.resnet.__all__ if n.islower()], help="a ResNet builder, such as resnet50")
    parser.add_argument("--weights", default="DEFAULT", help="IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT")
    parser.add_argument("--out", required=True, help="output file: .pth/.pt (torch.save) or .safetensors")
    args = parser.parse_args()
    export(args.model, args.weights, args.out)


if __name__ == "__main__":
    main()
