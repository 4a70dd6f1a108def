"""The names of torch's and torchvision's Python API that the C# port mirrors: the only names its public API may spell
other than in .NET casing (NamingTests). Read from the libraries themselves, never typed in."""

import inspect
import os
import shutil

import torch
import torchvision
from torchvision.models import feature_extraction, resnet
from torchvision.transforms import _presets

from . import cases
from .common import write_json


def _members(obj):
    """Public attribute names of a module, class or instance, and the parameters of its callables."""
    names = set()
    for name in dir(obj):
        if name.startswith("__"):
            continue
        names.add(name)
        try:
            member = getattr(obj, name, None)
        except RuntimeError:  # a tensor property that needs another shape (Tensor.H on a vector)
            continue
        if callable(member):
            names.update(_parameters(member))
    return names


def _parameters(function):
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


def _image_folder():
    """An ImageFolder instance: samples, targets, imgs, ... are set by its constructor, not on the class."""
    import tempfile
    from PIL import Image
    root = tempfile.mkdtemp()
    os.makedirs(os.path.join(root, "a"))
    Image.new("RGB", (1, 1)).save(os.path.join(root, "a", "x.png"))
    try:
        return torchvision.datasets.ImageFolder(root)
    finally:
        shutil.rmtree(root)


def _tensorboard_writer():
    """torch.utils.tensorboard.SummaryWriter's methods and their parameters, read from torch's source: importing it
    needs the tensorboard package, which Debian 12 does not have."""
    import ast
    path = os.path.join(os.path.dirname(torch.__file__), "utils", "tensorboard", "writer.py")
    with open(path) as f:
        tree = ast.parse(f.read())
    writer = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SummaryWriter")
    names = set()
    for method in (n for n in writer.body if isinstance(n, ast.FunctionDef) and (n.name == "__init__" or not n.name.startswith("_"))):
        names |= {a.arg for a in method.args.args + method.args.kwonlyargs} | ({method.name} - {"__init__"})
    return names


def api_names(directory):
    names = {"torch", "torchvision", "models", "transforms", "datasets", "ops", "hub", "nn", "utils", "data"}
    model = resnet.resnet18()
    sources = [
        torchvision.models, resnet, feature_extraction, torchvision.datasets, torch.nn.Module, model, model.layer1[0], resnet.resnet50().layer1[0],
        torchvision.models.ResNet50_Weights.IMAGENET1K_V2, torchvision.models.ResNet50_Weights, torch.hub,
        torchvision.transforms, torchvision.transforms.functional, _presets.ImageClassification(crop_size=224),
        torchvision.datasets.ImageFolder, torch.utils.data.DataLoader, torch.utils.data, torchvision.ops,
        torchvision.ops.FrozenBatchNorm2d(8), torch.nn.functional, torch.optim.SGD, torch.optim.lr_scheduler, torch.zeros(1, 1),
        _image_folder(),
    ]
    for source in sources:
        names |= _members(source)
    for name in dir(torchvision.transforms):
        if inspect.isclass(getattr(torchvision.transforms, name)):
            names |= _members(getattr(torchvision.transforms, name)) | _parameters(getattr(torchvision.transforms, name).__init__)
    # torchvision's references/classification/presets.py, which Debian's python3-torchvision does not install: the
    # training preset's arguments that ClassificationPresetTrain mirrors.
    names |= {"hflip_prob", "auto_augment_policy", "ra_magnitude", "augmix_severity", "random_erase_prob"}
    for builder in cases.ARCHITECTURES:
        names |= _parameters(getattr(resnet, builder))
    names |= _parameters(resnet.ResNet.__init__) | _parameters(resnet.BasicBlock.__init__) | _parameters(resnet.Bottleneck.__init__)
    names |= _parameters(resnet._resnet) | {"_resnet"}
    names |= set(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta)
    names |= _tensorboard_writer()
    names |= {"acc_1", "acc_5"}  # meta["_metrics"]["ImageNet-1K"]["acc@1"], which no identifier can spell
    write_json(directory, "python_api_names.json", sorted(names))
