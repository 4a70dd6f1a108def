"""A JPEG corpus made by Pillow, and Pillow's decode of each: every subsampling, qualities 50 to 100, progressive,
restart intervals, grayscale, CMYK, odd sizes and EXIF orientations. Stored as SHA-256 digests of Pillow's RGB bytes
and of torchvision's preprocessed tensors: the C# side must match them bit for bit."""

import hashlib
import os
import subprocess

import numpy
from PIL import Image, ImageOps

from .common import SKIMAGE, classic_preset, write_json

FOLDER = "jpeg"


def sha256(array):
    return hashlib.sha256(numpy.ascontiguousarray(array).tobytes()).hexdigest()


def corpus(out):
    """Writes the corpus into out; returns the file names."""
    chelsea = Image.open(os.path.join(SKIMAGE, "chelsea.png")).convert("RGB")  # 451x300: odd width
    astronaut = Image.open(os.path.join(SKIMAGE, "astronaut.png")).convert("RGB")
    camera = Image.open(os.path.join(SKIMAGE, "camera.png")).convert("L")
    names = []

    def save(image, name, **options):
        image.save(os.path.join(out, name), format="JPEG", **options)
        names.append(name)

    for subsampling, label in ((0, "444"), (1, "422"), (2, "420")):
        for quality in (50, 75, 90, 100):
            save(chelsea, f"chelsea_{label}_q{quality}.jpg", subsampling=subsampling, quality=quality)
    save(astronaut, "astronaut_progressive_420.jpg", progressive=True, subsampling=2, quality=85)
    save(astronaut, "astronaut_progressive_444.jpg", progressive=True, subsampling=0, quality=95)
    save(camera, "camera_gray.jpg", quality=90)
    save(camera, "camera_gray_progressive.jpg", quality=80, progressive=True)
    save(chelsea.convert("CMYK"), "chelsea_cmyk.jpg", quality=90)
    # Pillow's RGB->CMYK leaves K at 0; a real black channel exercises the CMYK->RGB conversion itself.
    rgb = numpy.asarray(chelsea).astype(numpy.int32)
    k = 255 - rgb.max(axis=2)
    cmyk = numpy.stack([255 - rgb[..., 0] - k, 255 - rgb[..., 1] - k, 255 - rgb[..., 2] - k, k], axis=2)
    save(Image.fromarray(cmyk.clip(0, 255).astype(numpy.uint8), "CMYK"), "chelsea_cmyk_black.jpg", quality=90)
    for width, height in ((1, 1), (17, 9), (4001, 3), (3, 4001)):
        for subsampling, label in ((0, "444"), (2, "420")):
            save(chelsea.resize((width, height)), f"odd_{width}x{height}_{label}.jpg", subsampling=subsampling, quality=90)
    # Restart markers: Pillow 9 cannot write them; jpegtran (libjpeg-turbo-progs) adds them losslessly.
    for interval in ("1", "5B"):
        name = f"chelsea_420_restart_{interval}.jpg"
        subprocess.run(["jpegtran", "-restart", interval, "-outfile", os.path.join(out, name),
                        os.path.join(out, "chelsea_420_q90.jpg")], check=True)
        names.append(name)
    small = chelsea.resize((61, 37))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        save(small, f"exif_{orientation}.jpg", quality=90, exif=exif.tobytes())
    return names


def jpeg_corpus(directory):
    """For each file: Pillow's RGB (shape and digest), the same after ImageOps.exif_transpose, and torchvision's
    preprocessed tensors at resize 256 and 232 (Pillow resizes 4001x3 to 341,418x256 whole before cropping)."""
    out = os.path.join(directory, FOLDER)
    os.makedirs(out)
    names = corpus(out)
    expected = {}
    for name in names:
        image = Image.open(os.path.join(out, name)).convert("RGB")
        rgb = numpy.asarray(image)
        entry = {"shape": list(rgb.shape), "rgb": sha256(rgb), "exif_transposed": sha256(numpy.asarray(ImageOps.exif_transpose(image)))}
        for resize in (256, 232):
            entry[f"tensor{resize}"] = sha256(classic_preset(resize, 224)(image).numpy())
        expected[name] = entry
    write_json(directory, "jpeg.json", expected)
    return names
