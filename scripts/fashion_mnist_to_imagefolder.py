"""Turns Debian's Fashion-MNIST (apt install dataset-fashion-mnist) into ImageFolder trees of PNG files:

    OUT/train/<class>/<index>.png   60,000 images (or --per-class of each class)
    OUT/test/<class>/<index>.png    10,000 images (or --per-class of each class)

Run with Debian's interpreter: /usr/bin/python3 scripts/fashion_mnist_to_imagefolder.py OUT [--per-class N]
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

SOURCE = "/usr/share/datasets/fashion-mnist"
# The dataset's label names; prefixed with the label so ImageFolder's sorted classes keep Fashion-MNIST's numbering.
CLASSES = ["0-tshirt-top", "1-trouser", "2-pullover", "3-dress", "4-coat",
           "5-sandal", "6-shirt", "7-sneaker", "8-bag", "9-ankle-boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def convert(split, prefix, out, per_class):
    images = read_idx(os.path.join(SOURCE, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(SOURCE, f"{prefix}-labels-idx1-ubyte.gz"))
    counts = [0] * len(CLASSES)
    for name in CLASSES:
        os.makedirs(os.path.join(out, split, name), exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels)):
        if per_class is not None and counts[label] >= per_class:
            continue
        counts[label] += 1
        Image.fromarray(image, "L").save(os.path.join(out, split, CLASSES[label], f"{index:05d}.png"))
    print(f"{split}: {sum(counts)} images in {len(CLASSES)} classes under {os.path.join(out, split)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="output folder; train/ and test/ are written under it")
    parser.add_argument("--per-class", type=int, help="keep only the first N images of each class in each split")
    args = parser.parse_args()
    convert("train", "train", args.out, args.per_class)
    convert("test", "t10k", args.out, args.per_class)


if __name__ == "__main__":
    main()
