"""Images made to hurt a decoder: strips whose resized size is gigabytes, and PNG chunks that inflate to hundreds of
megabytes (which Pillow refuses: the generator checks that it does)."""

import os

from PIL import Image, PngImagePlugin

FOLDER = "hostile"
BOMB = 100 * 1024 * 1024  # inflated size of each bomb's chunk; a few hundred KB on disk


def pillow_refuses(path):
    try:
        Image.open(path).load()
    except ValueError as e:
        return "Decompressed Data Too Large" in str(e)
    return False


# Resize(256) makes the first two 25,600,000x256 pixels (19 GB if resized whole), the third 2,560,000x256 (2 GB).
STRIPS = [(100000, 1), (1, 100000), (10000, 1)]

# Each bomb's file and the PNG chunk that inflates.
BOMBS = {"ztxt_bomb.png": "zTXt", "iccp_bomb.png": "iCCP"}


def hostile_images(directory):
    """Writes the images; returns their cases for cases.json: the strips' files, and each bomb's file and chunk."""
    out = os.path.join(directory, FOLDER)
    os.makedirs(out)
    strips = []
    for width, height in STRIPS:
        strips.append(f"strip_{width}x{height}.png")
        Image.new("L", (width, height), 128).save(os.path.join(out, strips[-1]))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "\0" * BOMB, zip=True)
    Image.new("RGB", (8, 8)).save(os.path.join(out, "ztxt_bomb.png"), pnginfo=text)
    Image.new("RGB", (8, 8)).save(os.path.join(out, "iccp_bomb.png"), icc_profile=b"\0" * BOMB)
    for name in BOMBS:
        assert pillow_refuses(os.path.join(out, name)), f"Pillow no longer refuses {name}: the tests' premise changed"
    return {"strips": strips, "bombs": BOMBS}
