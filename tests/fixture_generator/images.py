"""Images: decoding and preprocessing, classification of the samples, image folders and training augmentation."""

import os
import sys

import torch
import torchvision
from torchvision.models import resnet

from .common import REPOSITORY, SAMPLES, SKIMAGE, classic_preset, train_preset, write_arrays, write_json
from .models import forward_model

FASHION_MNIST_SMALL = "fashion-mnist-small"


def preprocessing(directory):
    """Real photos in every mode and format the app decodes, and PIL + torchvision's tensors for them; returns the
    names of those it made tensors for."""
    from PIL import Image
    out = os.path.join(directory, "images")
    os.makedirs(out)
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
    with open(os.path.join(out, "corrupt.jpg"), "wb") as f:  # start and end markers around noise
        f.write(b"\xff\xd8\xff" + bytes(range(7, 250, 3)) + b"\xff\xd9")
    with open(os.path.join(out, "chelsea.tif"), "wb") as f:
        cat.save(f, format="TIFF")

    expected, decoded = {}, []
    for name in sorted(os.listdir(out)):
        if name.startswith(("truncated", "huge", "corrupt")) or "_truncated" in name or name.endswith(".tif"):
            continue
        image = Image.open(os.path.join(out, name)).convert("RGB")
        expected[name] = classic_preset()(image)
        expected[name + "@232"] = classic_preset(232, 224)(image)
        expected[name + "@bicubic"] = classic_preset(interpolation="bicubic")(image)
        decoded.append(name)
    write_arrays(directory, "preprocessing.npz", expected)
    return decoded


def classification(directory):
    """PyTorch's top-5 for the samples through the classic script, with the resnet18 and resnet50 forward cases' weights."""
    from PIL import Image
    categories = resnet.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    for arch, name in (("resnet18", "classification.json"), ("resnet50", "classification_resnet50.json")):
        model, _ = forward_model(arch)
        model.eval()
        result = {}
        for image in sorted(os.listdir(SAMPLES)):
            if not image.endswith((".png", ".jpg")):
                continue
            batch = classic_preset()(Image.open(os.path.join(SAMPLES, image)).convert("RGB")).unsqueeze(0)
            with torch.no_grad():
                probabilities = torch.nn.functional.softmax(model(batch)[0], dim=0)
            top5_prob, top5_catid = torch.topk(probabilities, 5)
            result[image] = [{"label": categories[i], "index": int(i), "probability": float(p)} for p, i in zip(top5_prob, top5_catid)]
        write_json(directory, name, result)


def fine_tuning_data(directory):
    """A small Fashion-MNIST ImageFolder tree (20 images of each class, train and test) for the training tests."""
    sys.path.insert(0, os.path.join(REPOSITORY, "scripts"))
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


TRANSFORM_SEEDS = [0, 1, 7, 12345, 2 ** 40 + 3, 2 ** 64 - 59]


def train_transforms(directory):
    """RandomResizedCrop's parameters and the whole training preset's tensor, per seed, for three images; returns
    the seeds and each image's crop size and smallest scale."""
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
    write_arrays(directory, "train_transforms.npz", result)
    return {"seeds": TRANSFORM_SEEDS, "images": {name: {"crop": crop, "min_scale": scale[0]} for name, (_, crop, scale) in images.items()}}
