#!/usr/bin/env python3
"""Writes N JPEG photos for the end-to-end benchmark: crops of scikit-image's public-domain photos (Debian's
python3-skimage) at camera-like sizes (640x480 to 1600x1200), saved by Pillow at quality 90, 4:2:0.

    /usr/bin/python3 benchmarks/photos.py OUT_DIR [--count 200] [--seed 0]

Another --seed gives other crops of the same photos: an int8 calibration set apart from the photos classified.
"""

import argparse
import os
import random

from PIL import Image
import skimage.data

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "motorcycle_right.png", "hubble_deep_field.jpg"]
SIZES = [(640, 480), (800, 600), (1024, 768), (1280, 960), (1600, 1200)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    folder = os.path.dirname(skimage.data.__file__)
    sources = [Image.open(os.path.join(folder, name)).convert("RGB") for name in PHOTOS]
    for i in range(args.count):
        source = sources[i % len(sources)]
        width, height = SIZES[i % len(SIZES)]
        # A random crop of a random part of the photo, scaled up or down to a camera size.
        w = rng.randint(source.width // 2, source.width)
        h = rng.randint(source.height // 2, source.height)
        x, y = rng.randint(0, source.width - w), rng.randint(0, source.height - h)
        photo = source.crop((x, y, x + w, y + h)).resize((width, height), Image.BICUBIC)
        photo.save(os.path.join(args.out, f"photo_{i:03d}.jpg"), quality=90)


if __name__ == "__main__":
    main()
