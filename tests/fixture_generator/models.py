"""The architectures, their seeded initial weights, and their outputs."""

import contextlib
import copy
import os

import torch
from torchvision.models import resnet

from . import cases
from .common import SEED, build, seeded, write_arrays, write_digests, write_json


@contextlib.contextmanager
def shapes_only():
    """Builds skip torch.nn.init's random draws, a tenth of the generator's time spent on weights nobody reads."""
    names = ["kaiming_uniform_", "kaiming_normal_", "uniform_", "normal_", "constant_", "zeros_", "ones_"]
    saved = {name: getattr(torch.nn.init, name) for name in names}
    for name in names:
        setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def architectures(directory):
    """Parameter count and state_dict keys with shapes, in order, for every builder."""
    result = {}
    for name in cases.ARCHITECTURES:
        with shapes_only():
            model = getattr(resnet, name)()
        result[name] = {
            "num_params": sum(p.numel() for p in model.parameters()),
            "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    write_json(directory, "architectures.json", result)


def initial_weights(directory):
    for name, case in cases.INIT.items():
        torch.manual_seed(SEED)
        write_digests(directory, f"init_{name}.json", build(case).state_dict())


def forward_model(name):
    """A forward case's model and input: its initialisation, then randomize_norms and the input from seed + 1."""
    case = cases.FORWARD[name]
    model, generator = seeded(case, 1)
    return model, torch.rand(case["input"], generator=generator) * 2 - 1


def forward_outputs(directory):
    """Each case's outputs in float32 and in float64 (the exact answer, up to float64 rounding).

    Two float32 implementations that sum in different orders (oneDNN's kernels on one CPU, a matrix product on
    another) differ by about as much as each differs from the exact answer, so the C# side compares its float32
    output with the float64 one, allowing a few times PyTorch's own float32 error, and its float64 output exactly.
    """
    for name, case in cases.FORWARD.items():
        model, x = forward_model(name)
        write_digests(directory, f"forward_{name}.weights.json", model.state_dict())
        if name in cases.CHECKPOINTS:
            torch.save(model.state_dict(), os.path.join(directory, f"forward_{name}.weights.pt"))
        model64 = copy.deepcopy(model).double()
        io = {"input": x}
        with torch.no_grad():
            for mode in case["modes"]:
                model.train(mode == "train")
                model64.train(mode == "train")
                io[mode] = model(x)
                io[mode + "64"] = model64(x.double())
        write_arrays(directory, f"forward_{name}.io.npz", io)


def feature_extraction(directory):
    """create_feature_extractor's outputs for the resnet18 forward case."""
    from torchvision.models.feature_extraction import create_feature_extractor
    model, x = forward_model("resnet18")
    model.eval()
    extractor = create_feature_extractor(model, {"layer1": "layer1", "layer2": "layer2", "layer3": "layer3",
                                                 "layer4": "layer4", "avgpool": "avgpool", "flatten": "embedding"})
    with torch.no_grad():
        write_arrays(directory, "features_resnet18.npz", dict(extractor(x)))
