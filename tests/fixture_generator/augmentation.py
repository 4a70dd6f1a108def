"""torchvision 0.14's automatic augmentations on Pillow 9.4's pixels: every operation at every magnitude of the
spaces that use it (both signs, nearest, bilinear and bicubic), TrivialAugmentWide, RandAugment and the three AutoAugment
policies per seed, RandomErasing on a normalised tensor per seed, and the reference training preset with them; and
AugMix, whose operations run on uint8 tensors: each at every magnitude of its space, and the whole per seed."""

import os

import numpy
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode, autoaugment

from .common import MEAN, SKIMAGE, STD, write_arrays, write_json

SEEDS = list(range(24))
INTERPOLATIONS = {"NEAREST": InterpolationMode.NEAREST, "BILINEAR": InterpolationMode.BILINEAR, "BICUBIC": InterpolationMode.BICUBIC}
GEOMETRIC = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}


def images():
    """Small, so that thousands of outputs stay small: an odd-sized photo, and a square one (Rotate's transposes)."""
    chelsea = Image.open(os.path.join(SKIMAGE, "chelsea.png")).convert("RGB")
    astronaut = Image.open(os.path.join(SKIMAGE, "astronaut.png")).convert("RGB")
    return {"chelsea": chelsea.resize((41, 29), Image.BILINEAR), "astronaut": astronaut.resize((24, 24), Image.BILINEAR)}


def pixels(image):
    return torch.from_numpy(numpy.asarray(image, dtype=numpy.uint8).copy())


def op_cases(image):
    """(op, magnitude) for every magnitude of TrivialAugmentWide's space and of AutoAugment's and RandAugment's
    (10 and 31 bins), signed ones both ways, and Invert."""
    height, width = image.height, image.width
    spaces = [autoaugment.TrivialAugmentWide()._augmentation_space(31),
              autoaugment.RandAugment()._augmentation_space(31, (height, width)),
              autoaugment.AutoAugment()._augmentation_space(10, (height, width))]
    cases = {("Invert", 0.0)}
    for space in spaces:
        for name, (magnitudes, signed) in space.items():
            values = [float(m) for m in magnitudes] if magnitudes.ndim > 0 else [0.0]
            for value in values:
                cases.add((name, value))
                if signed:
                    cases.add((name, -value))
    return sorted(cases)


def augmentation(directory):
    arrays, manifest = {}, {"seeds": SEEDS, "images": [], "ops": [], "tensor_ops": [], "policies": [], "erasing": [], "presets": []}
    for name, image in images().items():
        image.save(os.path.join(directory, f"augment_{name}.png"))
        manifest["images"].append(name)
        for op, magnitude in op_cases(image):
            for interpolation in (INTERPOLATIONS if op in GEOMETRIC else ["NEAREST"]):
                key = f"op.{name}.{len(manifest['ops'])}"
                arrays[key] = pixels(autoaugment._apply_op(image, op, magnitude, INTERPOLATIONS[interpolation], None))
                manifest["ops"].append({"key": key, "image": name, "op": op, "magnitude": magnitude, "interpolation": interpolation})

        # AugMix's operations on the image as a uint8 tensor, as AugMix applies them (tensors take nearest and bilinear).
        tensor = T.functional.pil_to_tensor(image).unsqueeze(0)
        space = autoaugment.AugMix()._augmentation_space(10, (image.height, image.width))
        for op, (magnitudes, signed) in space.items():
            for magnitude in sorted({float(m) * sign for m in (magnitudes.reshape(-1) if magnitudes.ndim > 0 else [0.0]) for sign in ((1, -1) if signed else (1,))}):
                for interpolation in (("NEAREST", "BILINEAR") if op in GEOMETRIC else ["NEAREST"]):
                    key = f"tensor_op.{name}.{len(manifest['tensor_ops'])}"
                    arrays[key] = autoaugment._apply_op(tensor, op, magnitude, INTERPOLATIONS[interpolation], None)[0].permute(1, 2, 0).contiguous()
                    manifest["tensor_ops"].append({"key": key, "image": name, "op": op, "magnitude": magnitude, "interpolation": interpolation})

        policies = {f"ta_wide.{i}": (lambda i=i: autoaugment.TrivialAugmentWide(interpolation=INTERPOLATIONS[i])) for i in INTERPOLATIONS}
        policies |= {f"augmix.{i}": (lambda i=i: autoaugment.AugMix(interpolation=INTERPOLATIONS[i])) for i in ("NEAREST", "BILINEAR")}
        policies |= {f"ra.{i}": (lambda i=i: autoaugment.RandAugment(interpolation=INTERPOLATIONS[i])) for i in INTERPOLATIONS}
        policies |= {f"{p.value}.NEAREST": (lambda p=p: autoaugment.AutoAugment(p)) for p in autoaugment.AutoAugmentPolicy}
        for policy, make in policies.items():
            for seed in SEEDS:
                torch.manual_seed(seed)
                arrays[f"policy.{name}.{policy}.{seed}"] = pixels(make()(image))
        manifest["policies"] = list(policies)

        normalised = T.Normalize(MEAN, STD)(T.ToTensor()(image))
        arrays[f"erasing.{name}.input"] = normalised
        for seed in SEEDS:
            torch.manual_seed(seed)
            arrays[f"erasing.{name}.{seed}"] = T.RandomErasing(p=0.5)(normalised)

    # The reference's ClassificationPresetTrain (references/classification/presets.py, which Debian does not
    # install), written out: crop and flip and auto-augment at train.py's default bilinear (and at bicubic, its other
    # --interpolation), tensor, erase.
    photo = Image.open(os.path.join(SKIMAGE, "chelsea.png")).convert("RGB")
    presets = {"ta_wide": autoaugment.TrivialAugmentWide, "ra": autoaugment.RandAugment,
               "imagenet": lambda interpolation: autoaugment.AutoAugment(autoaugment.AutoAugmentPolicy.IMAGENET, interpolation),
               "augmix": lambda interpolation: autoaugment.AugMix(interpolation=interpolation)}
    for (policy, make), interpolation in [*((p, "bilinear") for p in presets.items()), (("ta_wide", presets["ta_wide"]), "bicubic")]:
        mode = InterpolationMode(interpolation)
        preset = T.Compose([T.RandomResizedCrop(32, interpolation=mode), T.RandomHorizontalFlip(0.5),
                            make(interpolation=mode), T.PILToTensor(), T.ConvertImageDtype(torch.float),
                            T.Normalize(mean=MEAN, std=STD), T.RandomErasing(p=0.25)])
        for seed in SEEDS:
            torch.manual_seed(seed)
            arrays[f"preset.{policy}.{interpolation}.{seed}"] = preset(photo)
        manifest["presets"].append({"policy": policy, "interpolation": interpolation, "crop": 32, "random_erase_prob": 0.25})
    photo.save(os.path.join(directory, "augment_preset.png"))
    # Every space's magnitudes as torch computes them (its linspace's float32 bits depend on its vector width).
    spaces = {f"ta_wide.{bins}": autoaugment.TrivialAugmentWide()._augmentation_space(bins) for bins in (31, 17, 64)}
    spaces |= {f"standard.{bins}.{w}x{h}": autoaugment.RandAugment()._augmentation_space(bins, (h, w)) for bins in (10, 31, 40) for w, h in ((41, 29), (224, 224))}
    manifest["spaces"] = {name: {op: [float(m) for m in (magnitudes.reshape(-1) if magnitudes.ndim > 0 else [])] for op, (magnitudes, _) in space.items()}
                          for name, space in spaces.items()}
    manifest["autoaugment_policies"] = {p.name: autoaugment.AutoAugment(p).policies for p in autoaugment.AutoAugmentPolicy}
    write_arrays(directory, "augmentation.npz", arrays)
    write_json(directory, "augmentation.json", manifest)
