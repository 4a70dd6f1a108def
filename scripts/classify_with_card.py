#!/usr/bin/env python3
"""Classifies images in PyTorch with weights the C# side wrote and the model card beside them: torchvision builds the
network the card describes (a builder, or ResNet(block, layers) for a network no builder makes), loads the weights
strictly, and preprocesses as the card says (PIL's Resize and CenterCrop, ToTensor, the channel order, the mean per
channel and, when the card has one, the mean image, then the std). Prints one JSON line per image: the top-k class
indices and probabilities.

    classify_with_card.py WEIGHTS IMAGE... [--top K]
"""

import argparse
import base64
import json
import os

import numpy as np
import torch
from PIL import Image
from torchvision import transforms
from torchvision.models import resnet


def build(card):
    arguments = dict(num_classes=card["num_classes"], replace_stride_with_dilation=card["replace_stride_with_dilation"],
                     groups=card["groups"], width_per_group=card["width_per_group"])
    if card["norm_layer"] != "bn":
        raise SystemExit(f"norm_layer {card['norm_layer']}: this script builds BatchNorm2d networks only")
    if card["architecture"] == "ResNet":
        block = {"BasicBlock": resnet.BasicBlock, "Bottleneck": resnet.Bottleneck}[card["block"]]
        return resnet.ResNet(block, card["layers"], **arguments)
    return getattr(resnet, card["architecture"])(**arguments)


def preprocess(card, path):
    t = card["transforms"]
    image = Image.open(path).convert("RGB")
    x = transforms.ToTensor()(transforms.CenterCrop(t["crop_size"])(transforms.Resize(t["resize_size"])(image)))
    if t.get("channel_order", "RGB") == "BGR":
        x = x[[2, 1, 0]]
    mean = torch.tensor(t["mean"]).view(3, 1, 1)
    std = torch.tensor(t["std"]).view(3, 1, 1)
    x = x - mean
    if "mean_image" in t:
        size = t["crop_size"]
        x = x - torch.from_numpy(np.frombuffer(base64.b64decode(t["mean_image"]), dtype="<f4").reshape(3, size, size).copy())
    return x / std


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    with open(os.path.splitext(args.weights)[0] + ".card.json") as f:
        card = json.load(f)
    model = build(card)
    model.load_state_dict(torch.load(args.weights), strict=True)
    model.eval()
    with torch.no_grad():
        for path in args.images:
            probabilities = model(preprocess(card, path).unsqueeze(0)).softmax(1)[0]
            top = probabilities.topk(args.top)
            print(json.dumps({"indices": top.indices.tolist(), "probabilities": top.values.tolist()}))


if __name__ == "__main__":
    main()
