"""torchvision's metadata for every ResNet weight, to compare the C# registry with."""

import torchvision

from . import cases
from .common import write_json


def weights_registry(directory):
    result = {}
    for name in cases.ARCHITECTURES:
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
    write_json(directory, "legacy_pretrained.json", legacy_pretrained())


def legacy_pretrained():
    """The weights each builder's deprecated pretrained=True stands for (handle_legacy_interface), read by calling the
    builder with torchvision's _resnet replaced, so nothing is downloaded."""
    import warnings
    from torchvision.models import resnet
    original = resnet._resnet
    resnet._resnet = lambda block, layers, weights, progress, **kwargs: weights
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {name: str(getattr(resnet, name)(pretrained=True)) for name in cases.ARCHITECTURES}
    finally:
        resnet._resnet = original


def model_cards(directory):
    """Model cards written by scripts/export_weights.py's model_card for models built with options, with the state
    dict's keys and shapes: the C# ModelCard must read them, rebuild the same network and describe it the same way."""
    import sys
    import os
    import torch
    from .common import REPOSITORY
    sys.path.insert(0, os.path.join(REPOSITORY, "scripts"))
    import export_weights
    result = {}
    for name, kwargs in {
        "resnet50_gn_dilated": dict(num_classes=10, norm_layer=lambda c: torch.nn.GroupNorm(32, c), replace_stride_with_dilation=[False, False, True]),
        "resnext50_32x4d_frozen": dict(num_classes=3, norm_layer=torchvision.ops.FrozenBatchNorm2d),
        "resnet18": dict(),
    }.items():
        architecture = name.split("_gn")[0].split("_frozen")[0]
        model = getattr(torchvision.models, architecture)(**kwargs)
        categories = [f"class {i}" for i in range(model.fc.out_features)]
        card = export_weights.model_card(architecture, model, categories, 232, 224, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], f"{name} for the tests")
        write_json(directory, f"model_card_{name}.json", card)
        result[name] = {key: list(value.shape) for key, value in model.state_dict().items()}
    write_json(directory, "model_cards.json", result)
