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
