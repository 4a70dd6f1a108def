"""What every area shares: the seed, the way weights are made non-trivial, and the file formats."""

import hashlib
import json
import os

import numpy
import torch
from torchvision.models import resnet
from torchvision.ops import FrozenBatchNorm2d

SEED = 0
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLES = os.path.join(REPOSITORY, "samples")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# A norm layer is named in cases.json by the name the C# side builds it from.
NORM_LAYERS = {
    "GroupNorm32": lambda c: torch.nn.GroupNorm(32, c),
    "FrozenBatchNorm2d": FrozenBatchNorm2d,
}


def build(case):
    """A case's model: {"arch": a builder's name} or {"block": "BasicBlock" or "Bottleneck", "layers": [...]} for the
    ResNet class itself, and "options": the keyword arguments, a norm layer by its name in NORM_LAYERS."""
    options = dict(case.get("options", {}))
    if "norm_layer" in options:
        options["norm_layer"] = NORM_LAYERS[options["norm_layer"]]
    if "arch" in case:
        return getattr(resnet, case["arch"])(**options)
    return resnet.ResNet(getattr(resnet, case["block"]), case["layers"], **options)


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


def seeded(case, offset):
    """The case's model drawn from SEED, with randomize_norms from a generator seeded SEED + offset (returned too)."""
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED + offset)
    model = build(case)
    randomize_norms(model, generator)
    return model, generator


def write_json(directory, name, value):
    with open(os.path.join(directory, name), "w") as f:
        json.dump(value, f, indent=1)


def write_digests(directory, name, state_dict):
    """A state dict as [key, dtype, shape, sha256 of its little-endian bytes], in order: the C# side rebuilds the same
    weights from the seed and proves them bit-identical, so the weights themselves need not be stored."""
    rows = [[k, str(v.dtype).replace("torch.", ""), list(v.shape), hashlib.sha256(v.detach().contiguous().numpy().tobytes()).hexdigest()]
            for k, v in state_dict.items()]
    write_json(directory, name, rows)


def write_arrays(directory, name, tensors):
    """Tensors as numpy's .npz (a zip of .npy files, one per key), read on the C# side by the tests' own reader."""
    numpy.savez(os.path.join(directory, name), **{k: v.detach().contiguous().numpy() for k, v in tensors.items()})


SAMPLE = 1024
SAMPLE_STRIDE = 2654435761  # a prime: element i of the sample is the flat index (i * SAMPLE_STRIDE) % numel


def sampled(tensors, keep=()):
    """Float tensors of more than SAMPLE elements replaced by SAMPLE elements at fixed positions, their norm and
    their largest magnitude (KEY.sample, KEY.norm, KEY.absmax); the rest, and the keys in keep, as they are."""
    out = {}
    for k, v in tensors.items():
        if k in keep or not v.is_floating_point() or v.numel() <= SAMPLE:
            out[k] = v
            continue
        flat = v.detach().reshape(-1)
        index = torch.tensor([(i * SAMPLE_STRIDE) % flat.numel() for i in range(SAMPLE)])
        out[k + ".sample"] = flat[index].clone()
        out[k + ".norm"] = flat.norm().reshape(())
        out[k + ".absmax"] = flat.abs().max().reshape(())
    return out


def classic_preset(resize=256, crop=224, interpolation="bilinear"):
    """The classic script's preprocessing, on a PIL image (with bicubic: train.py's --interpolation bicubic)."""
    from torchvision import transforms as T
    return T.Compose([T.Resize(resize, interpolation=T.InterpolationMode(interpolation)), T.CenterCrop(crop), T.ToTensor(),
                      T.Normalize(mean=MEAN, std=STD)])


def train_preset(crop, scale):
    """torchvision's reference ClassificationPresetTrain without auto-augment: crop, flip, tensor, normalise."""
    from torchvision import transforms as T
    return T.Compose([T.RandomResizedCrop(crop, scale=scale), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean=MEAN, std=STD)])
