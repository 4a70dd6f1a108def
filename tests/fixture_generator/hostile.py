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


def hostile_images(directory):
    out = os.path.join(directory, FOLDER)
    os.makedirs(out)
    # Resize(256) makes these 25,600,000x256 and 2,560,000x256 pixels: 19 GB and 2 GB if resized whole.
    for width, height in ((100000, 1), (1, 100000), (10000, 1)):
        Image.new("L", (width, height), 128).save(os.path.join(out, f"strip_{width}x{height}.png"))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "\0" * BOMB, zip=True)
    Image.new("RGB", (8, 8)).save(os.path.join(out, "ztxt_bomb.png"), pnginfo=text)
    Image.new("RGB", (8, 8)).save(os.path.join(out, "iccp_bomb.png"), icc_profile=b"\0" * BOMB)
    for name in ("ztxt_bomb.png", "iccp_bomb.png"):
        assert pillow_refuses(os.path.join(out, name)), f"Pillow no longer refuses {name}: the tests' premise changed"
