#!/usr/bin/env python3
"""The PyTorch side of TorchVisionResNet.

Two jobs:

  For users (needs internet and torchvision >= 0.13): export an architecture's official weights for a
  machine where the .NET app cannot download them.

      export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.pth
      export_weights.py --model resnet50 --weights IMAGENET1K_V2 --out resnet50.safetensors

  For the tests: write PyTorch's ground truth (architectures, seeded initial weights, forward outputs)
  into a folder the xunit suite reads.

      export_weights.py --fixtures tests/fixtures

Runs on Debian's python3-torch 1.13 / python3-torchvision 0.14 and on current PyTorch.
"""

import argparse
import collections
import copy
import hashlib
import json
import os
import shutil
import sys

import torch
import torchvision
from torchvision.models import resnet
from torchvision.ops import FrozenBatchNorm2d

ARCHITECTURES = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
]

SEED = 0


def builder(name):
    return getattr(resnet, name)


def export_official(model, weights, out):
    """Saves torchvision's official weights as a state dict, plus their categories as JSON beside them."""
    enum = torchvision.models.get_model_weights(model)
    chosen = enum[weights]
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


# ---- fixtures -----------------------------------------------------------------------------------------------

def architectures(directory):
    """Parameter count and state_dict keys with shapes, in order, for all ten builders."""
    result = {}
    for name in ARCHITECTURES:
        model = builder(name)()
        result[name] = {
            "num_params": sum(p.numel() for p in model.parameters()),
            "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    write_json(directory, "architectures.json", result)


# Seeded initial weights: the C# port must draw the same random numbers in the same order.
INIT_CASES = {
    "resnet18": dict(arch="resnet18", kwargs={}),
    "resnet50": dict(arch="resnet50", kwargs={}),
    "resnext50_32x4d": dict(arch="resnext50_32x4d", kwargs={}),
    "resnet18_zero_init_residual": dict(arch="resnet18", kwargs={"zero_init_residual": True}),
    "resnet50_zero_init_residual": dict(arch="resnet50", kwargs={"zero_init_residual": True}),
    "resnet50_dilation_ftt": dict(arch="resnet50", kwargs={"replace_stride_with_dilation": [False, True, True]}),
    "resnet18_groupnorm": dict(arch="resnet18", kwargs={"norm_layer": lambda c: torch.nn.GroupNorm(32, c)}),
    "resnet18_num_classes_10": dict(arch="resnet18", kwargs={"num_classes": 10}),
}


def write_digests(directory, name, state_dict):
    """A state dict as [key, dtype, shape, sha256 of its little-endian bytes], in order: the C# side rebuilds the same
    weights from the seed and proves them bit-identical, so the weights themselves need not be stored."""
    rows = [[k, str(v.dtype).replace("torch.", ""), list(v.shape), hashlib.sha256(v.detach().contiguous().numpy().tobytes()).hexdigest()]
            for k, v in state_dict.items()]
    write_json(directory, name, rows)


def initial_weights(directory):
    for case, spec in INIT_CASES.items():
        torch.manual_seed(SEED)
        model = builder(spec["arch"])(**spec["kwargs"])
        write_digests(directory, f"init_{case}.json", model.state_dict())


# Forward parity: weights with non-trivial norm statistics, an input, and PyTorch's outputs.
# Inputs keep layer4 at least 4x4 where train mode is checked: batch statistics over fewer values
# amplify float noise past any meaningful tolerance.
FORWARD_CASES = {
    "resnet18": dict(arch="resnet18", kwargs={}, input=[2, 3, 128, 128]),
    "resnet18_nonsquare": dict(arch="resnet18", kwargs={}, input=[1, 3, 160, 224]),
    "resnet34": dict(arch="resnet34", kwargs={}, input=[2, 3, 128, 128]),
    "resnet50": dict(arch="resnet50", kwargs={}, input=[2, 3, 128, 128]),
    "resnext50_32x4d": dict(arch="resnext50_32x4d", kwargs={}, input=[2, 3, 128, 128]),
    "wide_resnet50_2": dict(arch="wide_resnet50_2", kwargs={}, input=[2, 3, 128, 128]),
    "resnet50_dilation_ftt": dict(arch="resnet50", kwargs={"replace_stride_with_dilation": [False, True, True]},
                                  input=[1, 3, 96, 128]),
    "resnet18_groupnorm": dict(arch="resnet18", kwargs={"norm_layer": lambda c: torch.nn.GroupNorm(32, c)},
                               input=[2, 3, 128, 128]),
    "resnet18_frozenbn": dict(arch="resnet18", kwargs={"norm_layer": FrozenBatchNorm2d}, input=[2, 3, 128, 128]),
    "resnet50_num_classes_10": dict(arch="resnet50", kwargs={"num_classes": 10}, input=[2, 3, 128, 128]),
    # The deep ones in eval mode only, on small inputs: layer4 is 2x2, too few values for train-mode statistics.
    "resnet101": dict(arch="resnet101", kwargs={}, input=[1, 3, 64, 64], train=False),
    "resnet152": dict(arch="resnet152", kwargs={}, input=[1, 3, 64, 64], train=False),
    "resnext101_32x8d": dict(arch="resnext101_32x8d", kwargs={}, input=[1, 3, 64, 64], train=False),
    "resnext101_64x4d": dict(arch="resnext101_64x4d", kwargs={}, input=[1, 3, 64, 64], train=False),
    "wide_resnet101_2": dict(arch="wide_resnet101_2", kwargs={}, input=[1, 3, 64, 64], train=False),
}


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


def forward_outputs(directory):
    """Each case's outputs in float32 and in float64 (the exact answer, up to float64 rounding).

    Two float32 implementations that sum in different orders (oneDNN's kernels on one CPU, a matrix product on
    another) differ by about as much as each differs from the exact answer, so the C# side compares its float32
    output with the float64 one, allowing a few times PyTorch's own float32 error, and its float64 output exactly.
    """
    for case, spec in FORWARD_CASES.items():
        torch.manual_seed(SEED)
        generator = torch.Generator().manual_seed(SEED + 1)
        model = builder(spec["arch"])(**spec["kwargs"])
        randomize_norms(model, generator)
        x = torch.rand(spec["input"], generator=generator) * 2 - 1
        write_digests(directory, f"forward_{case}.weights.json", model.state_dict())
        if case in ("resnet18", "resnet50"):  # PyTorch-written checkpoints for the command-line tests
            torch.save(model.state_dict(), os.path.join(directory, f"forward_{case}.weights.pt"))
        model64 = copy.deepcopy(model).double()
        io = {"input": x}
        modes = ("eval", "train") if spec.get("train", True) else ("eval",)
        with torch.no_grad():
            for mode in modes:
                model.train(mode == "train")
                model64.train(mode == "train")
                io[mode] = model(x)
                io[mode + "64"] = model64(x.double())
        torch.save(io, os.path.join(directory, f"forward_{case}.io.pt"))


def write_safetensors(tensors, path, metadata=None):
    """safetensors without the safetensors package (not packaged for Debian 12): the format is a JSON header."""
    dtypes = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
              torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
              torch.bool: "BOOL"}
    header, blobs, offset = {"__metadata__": metadata or {"format": "pt"}}, [], 0
    for key, tensor in tensors.items():
        blob = tensor.detach().contiguous().view(torch.uint8).numpy().tobytes() if tensor.dim() else \
            tensor.detach().reshape(1).view(torch.uint8).numpy().tobytes()
        header[key] = {"dtype": dtypes[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    dtypes = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool}
    body = data[8 + length:]
    result = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.uint8)
        result[key] = raw.view(dtypes[entry["dtype"]]).reshape(entry["shape"])
    return result


class Exploit:
    """A pickle that would run a shell command if unpickled by Python's pickle: the C# reader must not."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def serialization(directory):
    """One resnet18 state dict in every format and wrapping a user may bring, plus files that are not checkpoints."""
    out = os.path.join(directory, "serialization")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    model = resnet.resnet18()
    randomize_norms(model, torch.Generator().manual_seed(SEED + 2))
    sd = model.state_dict()
    torch.save(sd, os.path.join(out, "resnet18.pth"))
    # The loader's tests compare with weights rebuilt from the seed and these digests, not with the reader's own output.
    write_digests(out, "resnet18.json", sd)
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp64", torch.float64)):
        torch.save({k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}, os.path.join(out, f"resnet18_{name}.pth"))

    # Views and shared storages: every tensor a view of one flat storage; fc.weight a transposed (non-contiguous) view.
    flat = torch.cat([v.reshape(-1).to(torch.float32) for v in sd.values() if v.is_floating_point()])
    shared, offset = collections.OrderedDict(), 0
    for k, v in sd.items():
        if v.is_floating_point():
            shared[k] = flat[offset:offset + v.numel()].view(v.shape)
            offset += v.numel()
        else:
            shared[k] = v
    shared["fc.weight"] = sd["fc.weight"].t().contiguous().t()
    assert not shared["fc.weight"].is_contiguous()
    torch.save(shared, os.path.join(out, "resnet18_views.pth"))

    write_safetensors(sd, os.path.join(out, "resnet18.safetensors"))
    torch.save({"epoch": 7, "args": argparse.Namespace(lr=0.1), "state_dict": sd}, os.path.join(out, "resnet18_checkpoint_state_dict.pth"))
    torch.save({"model": {"module." + k: v for k, v in sd.items()}, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}},
               os.path.join(out, "resnet18_checkpoint_model_ddp.pth"))
    torch.save(sd, os.path.join(out, "resnet18_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(model, os.path.join(out, "resnet18_whole_model.pth"))
    # The marker names where the tests will look: the fixtures' final folder, not the staging one (see fixtures).
    torch.save(Exploit(os.path.join(os.path.abspath(out).replace(STAGING, "", 1), "exploit-ran")), os.path.join(out, "exploit.pth"))
    torch.save({"epoch": 7, "lr": 0.1}, os.path.join(out, "no_tensors.pth"))

    missing = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith("layer4.1."))
    missing["extra.weight"] = torch.zeros(3)
    missing["fc.weight"] = torch.zeros(10, 512)
    torch.save(missing, os.path.join(out, "resnet18_mismatched.pth"))

    with open(os.path.join(out, "resnet18.pth"), "rb") as f:
        whole = f.read()
    with open(os.path.join(out, "truncated.pth"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    with open(os.path.join(out, "random.bin"), "wb") as f:
        f.write(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(SEED), dtype=torch.uint8).numpy().tobytes())
    from PIL import Image
    Image.new("RGB", (8, 8), (200, 30, 30)).save(os.path.join(out, "image.jpg"))


# Training parity: from the same weights and batch, PyTorch's train-mode output, BatchNorm statistics after it,
# every gradient of cross_entropy, the parameters after one SGD and one AdamW step from those gradients, and after
# two steps of each given seeded gradients (the update rules alone), all computed in float64. In float32 these cases
# are ill-conditioned (batch norm over 2 images): PyTorch's own float32 gradients are up to 0.24 from float64's, so a
# float32 comparison only checks that two implementations sum in the same order. The C# side reruns them in float64
# and checks its float32 gradients against PyTorch's float32 error, stored per gradient as "error32.grad.KEY".
# Tensors of more than SAMPLE elements are stored as SAMPLE elements at fixed positions plus their norm and largest
# magnitude (KEY.sample, KEY.norm, KEY.absmax): a few MB instead of 900 MB a case.
TRAINING_CASES = ["resnet18", "resnet50", "resnext50_32x4d"]
SGD = dict(lr=0.1, momentum=0.9, weight_decay=1e-4)
ADAMW = dict(lr=1e-3, weight_decay=1e-2)
SAMPLE = 1024
SAMPLE_STRIDE = 2654435761  # a prime: element i of the sample is the flat index (i * SAMPLE_STRIDE) % numel


def sampled(result):
    """Large float tensors replaced by their sample, norm and largest magnitude; the rest (and the input) as they are."""
    out = {}
    for k, v in result.items():
        if k == "input" or not v.is_floating_point() or v.numel() <= SAMPLE:
            out[k] = v
            continue
        flat = v.detach().reshape(-1)
        index = torch.tensor([(i * SAMPLE_STRIDE) % flat.numel() for i in range(SAMPLE)])
        out[k + ".sample"] = flat[index].clone()
        out[k + ".norm"] = flat.norm().reshape(())
        out[k + ".absmax"] = flat.abs().max().reshape(())
    return out


def gradients(model, x, target):
    model.zero_grad()
    output = model(x)
    loss = torch.nn.functional.cross_entropy(output, target)
    loss.backward()
    return output.detach(), loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


def given_gradients(model, seed):
    """Two steps' worth of seeded standard-normal gradients, drawn parameter by parameter (the C# side draws the same)."""
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(p.shape, generator=generator, dtype=torch.float64) for p in model.parameters()] for _ in (1, 2)]


def training(directory):
    for arch in TRAINING_CASES:
        torch.manual_seed(SEED)
        generator = torch.Generator().manual_seed(SEED + 3)
        model = builder(arch)()
        randomize_norms(model, generator)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        x = torch.rand([2, 3, 128, 128], generator=generator) * 2 - 1
        target = torch.tensor([3, 917])
        result = {"input": x, "target": target}

        model.train()
        _, _, grads32 = gradients(model, x, target)
        model = model.double()
        model.load_state_dict(initial)
        x = x.double()
        output, loss, grads = gradients(model, x, target)
        result["output"] = output
        result["loss"] = loss
        for k, v in model.state_dict().items():
            if "running_" in k or "num_batches_tracked" in k:
                result["buffers." + k] = v.clone()
        for k, g in grads.items():
            result["grad." + k] = g
            result["error32.grad." + k] = ((grads32[k].double() - g).abs().max() / g.abs().max()).reshape(())

        for name, make in (("sgd", lambda ps: torch.optim.SGD(ps, **SGD)), ("adamw", lambda ps: torch.optim.AdamW(ps, **ADAMW))):
            # End to end: one step from the gradients above.
            model.load_state_dict(initial)
            optimizer = make(model.parameters())
            for k, p in model.named_parameters():
                p.grad = grads[k].clone()
            optimizer.step()
            for k, p in model.named_parameters():
                result[f"{name}.step1.{k}"] = p.detach().clone()
            # The update rule alone: two steps given seeded gradients, so momentum and Adam's moments act.
            model.load_state_dict(initial)
            optimizer = make(model.parameters())
            for step, given in enumerate(given_gradients(model, SEED + 4), start=1):
                for p, g in zip(model.parameters(), given):
                    p.grad = g
                optimizer.step()
                for k, p in model.named_parameters():
                    result[f"{name}.given{step}.{k}"] = p.detach().clone()

        write_digests(directory, f"training_{arch}.weights.json", initial)
        torch.save(sampled(result), os.path.join(directory, f"training_{arch}.expected.pt"))


SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")


def seed_transform(resize=256, crop=224):
    """The classic script's preprocessing, on a PIL image."""
    from torchvision import transforms
    return transforms.Compose([
        transforms.Resize(resize), transforms.CenterCrop(crop), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])


def preprocessing(directory):
    """Real photos in every mode and format the app decodes, and PIL + torchvision's tensors for them."""
    from PIL import Image
    out = os.path.join(directory, "images")
    os.makedirs(out, exist_ok=True)
    for name in ("chelsea.png", "coffee.png", "astronaut.png", "camera.png", "horse.png", "logo.png", "green_palette.png",
                 "microaneurysms.png", "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg", "truncated.jpg"):
        with open(os.path.join(SKIMAGE, name), "rb") as src, open(os.path.join(out, name), "wb") as dst:
            dst.write(src.read())
    cat = Image.open(os.path.join(SKIMAGE, "chelsea.png"))
    cat.transpose(Image.Transpose.TRANSPOSE).save(os.path.join(out, "chelsea_portrait.png"))
    cat.transpose(Image.Transpose.TRANSPOSE).save(os.path.join(out, "chelsea_portrait.jpg"), quality=90)
    cat.resize((40, 27), Image.Resampling.NEAREST).save(os.path.join(out, "chelsea_tiny.png"))
    cat.save(os.path.join(out, "chelsea.bmp"))
    cat.convert("P", palette=Image.Palette.ADAPTIVE).save(os.path.join(out, "chelsea.gif"))
    cat.save(os.path.join(out, "chelsea.webp"), lossless=True)
    cat.convert("CMYK").save(os.path.join(out, "chelsea_cmyk.jpg"), quality=90)
    Image.open(os.path.join(SKIMAGE, "coffee.png")).save(os.path.join(out, "coffee.jpg"), quality=90)
    Image.open(os.path.join(SKIMAGE, "camera.png")).save(os.path.join(out, "camera.jpg"), quality=90)
    Image.new("L", (10000, 9000)).save(os.path.join(out, "huge.png"))
    for name, cut in (("chelsea.png", "chelsea_truncated.png"), ("rocket.jpg", "rocket_truncated.jpg")):
        with open(os.path.join(SKIMAGE, name), "rb") as f:
            whole = f.read()
        with open(os.path.join(out, cut), "wb") as f:
            f.write(whole[: len(whole) // 2])
    with open(os.path.join(out, "chelsea.tif"), "wb") as f:
        cat.save(f, format="TIFF")

    expected = {}
    for name in sorted(os.listdir(out)):
        if name.startswith(("truncated", "huge")) or "_truncated" in name or name.endswith(".tif"):
            continue
        image = Image.open(os.path.join(out, name)).convert("RGB")
        expected[name] = seed_transform()(image)
        expected[name + "@232"] = seed_transform(232, 224)(image)
    torch.save(expected, os.path.join(directory, "preprocessing.pt"))


def weights_registry(directory):
    """torchvision's metadata for every ResNet weight, to compare the C# registry with."""
    result = {}
    for name in ARCHITECTURES:
        enum = torchvision.models.get_model_weights(name)
        for w in enum:
            preset = w.transforms()
            result[f"{enum.__name__}.{w.name}"] = {
                "url": w.url, "num_params": w.meta["num_params"], "min_size": list(w.meta["min_size"]),
                "recipe": w.meta["recipe"], "metrics": w.meta["_metrics"]["ImageNet-1K"], "categories": w.meta["categories"],
                "crop_size": preset.crop_size[0], "resize_size": preset.resize_size[0],
                "is_default": w == enum.DEFAULT,
            }
    write_json(directory, "weights.json", result)


def classification(directory):
    """PyTorch's top-5 for the samples through the classic script, with resnet18's and resnet50's seeded test weights."""
    from PIL import Image
    categories = resnet.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    for arch, name in (("resnet18", "classification.json"), ("resnet50", "classification_resnet50.json")):
        model = builder(arch)()
        model.load_state_dict(torch.load(os.path.join(directory, f"forward_{arch}.weights.pt")))
        model.eval()
        result = {}
        for image in sorted(os.listdir(SAMPLES)):
            if not image.endswith((".png", ".jpg")):
                continue
            batch = seed_transform()(Image.open(os.path.join(SAMPLES, image)).convert("RGB")).unsqueeze(0)
            with torch.no_grad():
                probabilities = torch.nn.functional.softmax(model(batch)[0], dim=0)
            top5_prob, top5_catid = torch.topk(probabilities, 5)
            result[image] = [{"label": categories[i], "index": int(i), "probability": float(p)} for p, i in zip(top5_prob, top5_catid)]
        write_json(directory, name, result)


FASHION_MNIST_SMALL = "fashion-mnist-small"


def fine_tuning_data(directory):
    """A small Fashion-MNIST ImageFolder tree (20 images of each class, train and test) for the training tests."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fashion_mnist_to_imagefolder
    fashion_mnist_to_imagefolder.convert("train", "train", os.path.join(directory, FASHION_MNIST_SMALL), 20)
    fashion_mnist_to_imagefolder.convert("test", "t10k", os.path.join(directory, FASHION_MNIST_SMALL), 20)


IMAGE_FORMATS = {".webp": "WEBP", ".bmp": "BMP", ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".ppm": "PPM", ".gif": "GIF", ".tiff": "TIFF"}


def image_folder(directory):
    """A class tree with nested folders, mixed-case and undecodable extensions, and torchvision's ImageFolder of it."""
    from PIL import Image
    root = os.path.join(directory, "imagefolder")
    files = ["b_dog/z.webp", "b_dog/a.bmp", "a_cat/1.png", "a_cat/sub/2.JPG", "a_cat/sub/B.jpeg", "a_cat/sub2/x.ppm",
             "a_cat/notes.txt", "a_cat/0.gif", "C_upper/q.png", "C_upper/r.tiff", "C_upper/deeper/more/s.png"]
    for name in files:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if name.endswith(".txt"):
            with open(path, "w") as f:
                f.write("not an image")
        else:
            Image.new("RGB", (5, 4), (len(name) * 10, 0, 0)).save(path, format=IMAGE_FORMATS[os.path.splitext(name)[1].lower()])
    dataset = torchvision.datasets.ImageFolder(root)
    write_json(directory, "imagefolder.json", {
        "classes": dataset.classes, "class_to_idx": dataset.class_to_idx,
        "samples": [[os.path.relpath(path, root), target] for path, target in dataset.samples],
    })


def train_preset(crop, scale):
    from torchvision import transforms as T
    return T.Compose([T.RandomResizedCrop(crop, scale=scale), T.RandomHorizontalFlip(), T.ToTensor(),
                      T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])


TRANSFORM_SEEDS = [0, 1, 7, 12345, 2 ** 40 + 3, 2 ** 64 - 59]


def train_transforms(directory):
    """RandomResizedCrop's parameters and the whole training preset's tensor, per seed, for three images."""
    from PIL import Image
    from torchvision import transforms as T
    fashion = os.path.join(directory, FASHION_MNIST_SMALL, "train", "0-tshirt-top")
    images = {
        "chelsea": (Image.open(os.path.join(SKIMAGE, "chelsea.png")).convert("RGB"), 224, (0.08, 1.0)),
        "fashion": (Image.open(os.path.join(fashion, sorted(os.listdir(fashion))[0])).convert("RGB"), 32, (0.5, 1.0)),
        # So narrow that every try fails and the central-crop fallback decides.
        "sliver": (Image.open(os.path.join(SKIMAGE, "chelsea.png")).convert("RGB").resize((300, 12)), 32, (0.9, 1.0)),
    }
    result = {}
    for name, (image, crop, scale) in images.items():
        image.save(os.path.join(directory, f"transforms_{name}.png"))
        for seed in TRANSFORM_SEEDS:
            torch.manual_seed(seed)
            result[f"{name}.{seed}.params"] = torch.tensor(T.RandomResizedCrop.get_params(image, scale, (3 / 4, 4 / 3)))
            torch.manual_seed(seed)
            result[f"{name}.{seed}.tensor"] = train_preset(crop, scale)(image)
    torch.save(result, os.path.join(directory, "train_transforms.pt"))


def schedules(directory):
    """finetune_pytorch.py's learning rates, step by step, through LambdaLR, for two parameter groups."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import finetune_pytorch
    result = {}
    for name, args in (("cosine", dict(schedule="cosine", epochs=5, warmup_epochs=1, step_epochs=30)),
                       ("cosine_no_warmup", dict(schedule="cosine", epochs=3, warmup_epochs=0, step_epochs=30)),
                       ("step", dict(schedule="step", epochs=5, warmup_epochs=0, step_epochs=2))):
        optimizer = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]},
                                     {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01}], lr=0.1)
        steps_per_epoch = 7
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, finetune_pytorch.lr_factor(argparse.Namespace(**args), steps_per_epoch))
        lrs = []
        for _ in range(args["epochs"] * steps_per_epoch):
            lrs.append([g["lr"] for g in optimizer.param_groups])
            optimizer.step()
            scheduler.step()
        result[name] = {"args": args, "steps_per_epoch": steps_per_epoch, "lrs": lrs}
    write_json(directory, "schedules.json", result)


def feature_extraction(directory):
    """create_feature_extractor's outputs for resnet18 with the forward test's weights and input."""
    from torchvision.models.feature_extraction import create_feature_extractor
    model = resnet.resnet18()
    model.load_state_dict(torch.load(os.path.join(directory, "forward_resnet18.weights.pt")))
    model.eval()
    extractor = create_feature_extractor(model, {"layer1": "layer1", "layer2": "layer2", "layer3": "layer3",
                                                 "layer4": "layer4", "avgpool": "avgpool", "flatten": "embedding"})
    x = torch.load(os.path.join(directory, "forward_resnet18.io.pt"))["input"]
    with torch.no_grad():
        outputs = extractor(x)
    torch.save(dict(outputs), os.path.join(directory, "features_resnet18.pt"))


MASK64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def sample_seed(seed, epoch, sample):
    """ImageFolderLoader's seed for one sample of one epoch (sample MASK64: the epoch's shuffle)."""
    return splitmix64(splitmix64(splitmix64(seed) ^ epoch) ^ sample)


ENGINE = dict(seed=7, epochs=2, batch_size=32, accumulation=2, lr=0.01, momentum=0.9, weight_decay=5e-4,
              label_smoothing=0.1, warmup_epochs=1, crop=32, min_scale=0.5)


def training_engine(directory):
    """Trainer.fit's first epoch, replayed in PyTorch: the same sample order, augmentation, schedule and accumulation.

    Only one epoch: on 200 images at 32x32 (layer4 is 1x1, so batch norm there normalises 32 numbers) the run is
    chaotic enough that PyTorch with one thread and with two disagree by 0.05 in the loss by the second epoch.
    """
    import math
    from PIL import Image
    from torchvision import transforms as T
    e = ENGINE
    train = torchvision.datasets.ImageFolder(os.path.join(directory, FASHION_MNIST_SMALL, "train"))
    test = torchvision.datasets.ImageFolder(os.path.join(directory, FASHION_MNIST_SMALL, "test"), T.Compose([
        T.Resize(e["crop"]), T.CenterCrop(e["crop"]), T.ToTensor(),
        T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])]))
    preset = train_preset(e["crop"], (e["min_scale"], 1.0))
    torch.manual_seed(e["seed"])
    model = resnet.resnet18(num_classes=len(train.classes))
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), e["lr"], e["momentum"], weight_decay=e["weight_decay"], nesterov=True)
    batches = len(train) // e["batch_size"]
    steps_per_epoch = math.ceil(batches / e["accumulation"])
    total, warmup = e["epochs"] * steps_per_epoch, e["warmup_epochs"] * steps_per_epoch
    factor = lambda s: 0.01 + 0.99 * s / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
    result, step = {"initial_fc": initial["fc.weight"]}, 0
    for epoch in range(1, 2):
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(sample_seed(e["seed"], epoch, MASK64)))
        model.train()
        optimizer.zero_grad()
        losses = []
        for b in range(batches):
            images, targets = [], []
            for index in order[b * e["batch_size"]:(b + 1) * e["batch_size"]].tolist():
                path, target = train.samples[index]
                torch.manual_seed(sample_seed(e["seed"], epoch, index))
                images.append(preset(Image.open(path).convert("RGB")))
                targets.append(target)
            loss = torch.nn.functional.cross_entropy(model(torch.stack(images)), torch.tensor(targets), label_smoothing=e["label_smoothing"])
            (loss / e["accumulation"]).backward()
            losses.append(loss.item())
            if (b + 1) % e["accumulation"] == 0 or b + 1 == batches:
                for group in optimizer.param_groups:
                    group["lr"] = e["lr"] * factor(step)
                optimizer.step()
                optimizer.zero_grad()
                step += 1
        result[f"epoch{epoch}.losses"] = torch.tensor(losses, dtype=torch.float64)
        if epoch == 1:
            result["order1"] = order
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(x) for x, _ in torch.utils.data.DataLoader(test, 64)])
        labels = torch.tensor(test.targets)
        result[f"epoch{epoch}.top1"] = torch.tensor(100.0 * (logits.argmax(1) == labels).double().mean().item(), dtype=torch.float64)
    torch.save(initial, os.path.join(directory, "engine.initial.pt"))
    torch.save(model.state_dict(), os.path.join(directory, "engine.final.pt"))
    torch.save(result, os.path.join(directory, "engine.expected.pt"))
    write_json(directory, "engine.json", ENGINE)


def write_json(directory, name, value):
    with open(os.path.join(directory, name), "w") as f:
        json.dump(value, f, indent=1)


STAGING = ".partial"


def fixtures(directory):
    """Writes every fixture into a staging folder and swaps it in whole: a failed run leaves the old set as it was,
    and no file of an older generator survives into the new set."""
    directory = os.path.abspath(directory)
    staging, previous = directory + STAGING, directory + ".previous"
    for leftover in (staging, previous):
        shutil.rmtree(leftover, ignore_errors=True)
    os.makedirs(staging)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for generate in (architectures, initial_weights, forward_outputs, serialization, training, preprocessing,
                     weights_registry, classification, fine_tuning_data, image_folder, train_transforms, schedules,
                     feature_extraction, training_engine):
        generate(staging)
    write_json(staging, "versions.json", {"torch": torch.__version__, "torchvision": torchvision.__version__})
    if os.path.exists(directory):
        os.rename(directory, previous)
    os.rename(staging, directory)
    shutil.rmtree(previous, ignore_errors=True)
    print(f"wrote fixtures to {directory} (torch {torch.__version__}, torchvision {torchvision.__version__})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=ARCHITECTURES, help="architecture whose official weights to export")
    parser.add_argument("--weights", default="DEFAULT", help="IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT")
    parser.add_argument("--out", help="output file: .pth/.pt (torch.save) or .safetensors")
    parser.add_argument("--fixtures", metavar="DIR", help="write the test suite's PyTorch ground truth into DIR")
    args = parser.parse_args()
    if args.fixtures:
        fixtures(args.fixtures)
    elif args.model and args.out:
        export_official(args.model, args.weights, args.out)
    else:
        parser.error("give --fixtures DIR, or --model and --out")


if __name__ == "__main__":
    main()
