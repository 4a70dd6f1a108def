"""The int8 oracle: what post-training static quantization should give, computed here in numpy from ONNX's
definitions, independently of the C# exporter.

- Activations, uint8 per tensor: ONNX's DynamicQuantizeLinear rule on the calibrated range, in float32: the range
  widened to hold 0, scale = (max - min) / 255, zero point = round(-min / scale), half to even; an empty range takes
  scale 1. Weights, int8 per output channel, symmetric in [-127, 127]: scale = max|w| / 127, q = round(w / scale).
  Biases, int32 at the product of the input's and the weight's scales.
- Calibration: min-max, or a percentile P read off a histogram of 2048 equal bins between each activation's min and
  max (bin floor((x - min) * (2048 / (max - min))) in float32): the top is the right edge of the first bin where the
  count from below reaches P% of the values, the bottom the left edge of the last bin where the count from above does.
- The network, norm layers folded in float64, is run here with its own forward (not torchvision's modules), naming
  each quantized activation as the exporter names it, and then run again fake-quantized: every activation quantized
  and dequantized where the QDQ graph does, every weight and bias dequantized, in float64; the C# side runs its
  int8 file on ONNX Runtime and compares the logits and, layer by layer, the uint8 levels of LEVELS."""

import hashlib
import os
import shutil

import numpy
import torch
from PIL import Image

from .cases import INT8
from .common import SKIMAGE, classic_preset, write_arrays, write_json
from .models import forward_model

BINS = 2048
PERCENTILE = 99.9
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg", "camera.png", "coins.png"]
SIZE = 64
# The activations whose uint8 levels are kept, to compare layer by layer: the stem's and the first block's.
LEVELS = ["relu", "layer1.0.relu"]


def activation_parameters(low, high):
    low, high = numpy.float32(min(0.0, low)), numpy.float32(max(0.0, high))
    if low == high:
        return numpy.float32(1.0), 0
    scale = numpy.float32(high - low) / numpy.float32(255)
    zero_point = numpy.float32(0) - low / scale
    return scale, int(numpy.round(numpy.clip(zero_point, 0, 255)))


def weight_parameters(weight):
    w = weight.detach().numpy().astype(numpy.float32).reshape(weight.shape[0], -1)
    absmax = numpy.abs(w).max(axis=1)
    scales = numpy.where(absmax == 0, numpy.float32(1), absmax / numpy.float32(127)).astype(numpy.float32)
    q = numpy.clip(numpy.round(w / scales[:, None]), -127, 127).astype(numpy.int8)
    return scales, q.reshape(weight.shape)


def bias_values(bias, input_scale, weight_scales):
    scales = (numpy.float32(input_scale) * weight_scales).astype(numpy.float32)
    q = numpy.round((bias.detach().numpy().astype(numpy.float32) / scales).astype(numpy.float64))
    return numpy.clip(q, -2 ** 31, 2 ** 31 - 1).astype(numpy.int32), scales


def fold(conv, bn):
    factor = bn.weight.detach().double() / (bn.running_var.detach().double() + bn.eps).sqrt()
    weight = (conv.weight.detach().double() * factor.view(-1, 1, 1, 1)).float()
    bias = (bn.bias.detach().double() - bn.running_mean.detach().double() * factor).float()
    return weight, bias


def folded_network(model):
    """The network as (stem, blocks, fc): each convolution folded with its norm layer and named as the exporter names it."""
    def pair(prefix, conv, bn):
        weight, bias = fold(conv, bn)
        return {"name": prefix, "weight": weight, "bias": bias, "stride": conv.stride, "padding": conv.padding, "dilation": conv.dilation, "groups": conv.groups}

    blocks = []
    for stage in ["layer1", "layer2", "layer3", "layer4"]:
        for index, block in enumerate(getattr(model, stage)):
            name = f"{stage}.{index}"
            convs = [pair(f"{name}.conv{i}", getattr(block, f"conv{i}"), getattr(block, f"bn{i}")) for i in (1, 2, 3) if hasattr(block, f"conv{i}")]
            downsample = pair(f"{name}.downsample.0", block.downsample[0], block.downsample[1]) if block.downsample is not None else None
            blocks.append({"name": name, "branch": convs, "downsample": downsample})
    return pair("conv1", model.conv1, model.bn1), blocks, model.fc


def run(network, x, quantize):
    """The network's logits; quantize(name, x) is applied to each activation the int8 graph quantizes, by its name
    (max pooling's output is quantized as its input is, with the stem's ReLU's parameters)."""
    stem, blocks, fc = network

    def conv(x, c, weight=None, bias=None):
        return torch.nn.functional.conv2d(x, c["weight"] if weight is None else weight, c["bias"] if bias is None else bias,
                                          c["stride"], c["padding"], c["dilation"], c["groups"])

    x = quantize("input", x)
    x = quantize("relu", torch.relu(conv(x, stem)))
    x = quantize("maxpool", torch.nn.functional.max_pool2d(x, 3, 2, 1))
    for block in blocks:
        name, branch = block["name"], x
        for i, c in enumerate(block["branch"]):
            branch = conv(branch, c)
            last = i == len(block["branch"]) - 1
            branch = quantize(c["name"], branch) if last else quantize(f"{name}.relu{i + 1}", torch.relu(branch))
        shortcut = quantize(block["downsample"]["name"], conv(x, block["downsample"])) if block["downsample"] else x
        x = quantize(f"{name}.relu", torch.relu(branch + shortcut))
    x = quantize("avgpool", torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))
    return torch.nn.functional.linear(x, fc.weight.detach(), fc.bias.detach())


def percentile_range(values, low, high, percentile):
    if low == high:
        return low, high
    per_unit = numpy.float32(BINS) / (numpy.float32(high) - numpy.float32(low))
    bins = numpy.clip(numpy.floor((values.astype(numpy.float32) - numpy.float32(low)) * per_unit), 0, BINS - 1).astype(numpy.int64)
    counts = numpy.bincount(bins, minlength=BINS)
    kept = counts.sum() * percentile / 100
    top = int(numpy.argmax(numpy.cumsum(counts) >= kept))
    bottom = BINS - 1 - int(numpy.argmax(numpy.cumsum(counts[::-1]) >= kept))
    width = (float(high) - float(low)) / BINS
    return float(numpy.float32(float(low) + bottom * width)), float(numpy.float32(min(float(high), float(low) + (top + 1) * width)))


def calibration_images():
    preset = classic_preset(SIZE + SIZE // 7, SIZE)
    return torch.stack([preset(Image.open(f"{SKIMAGE}/{photo}").convert("RGB")) for photo in PHOTOS])


def quantization(directory):
    # The photos as files too, a calibration folder for the command line's tests.
    os.makedirs(os.path.join(directory, "calibration"))
    for photo in PHOTOS:
        shutil.copy(f"{SKIMAGE}/{photo}", os.path.join(directory, "calibration", photo))
    images = calibration_images()
    write_arrays(directory, "quantization_images.npz", {"images": images})
    manifest = {"percentile": PERCENTILE, "bins": BINS, "cases": {}}
    for case in INT8:
        model, _ = forward_model(case)
        model.eval()
        network = folded_network(model)
        seen = {}
        with torch.no_grad():
            float_logits = run(network, images, lambda name, x: seen.setdefault(name, []).append(x.numpy().ravel()) or x)
        values = {name: numpy.concatenate(chunks) for name, chunks in seen.items()}
        minmax = {name: (float(v.min()), float(v.max())) for name, v in values.items()}
        percentile = {name: percentile_range(values[name], *minmax[name], PERCENTILE) for name in values}
        parameters = {name: activation_parameters(*r) for name, r in minmax.items()}

        arrays, weights = {"float_logits": float_logits}, {}
        stem, blocks, fc = network
        convs = [stem] + [c for b in blocks for c in b["branch"] + ([b["downsample"]] if b["downsample"] else [])]
        # The range each convolution's input is quantized over: what the description feeds it.
        inputs = {"conv1": "input"}
        previous = "relu"
        for b in blocks:
            for i, c in enumerate(b["branch"]):
                inputs[c["name"]] = previous if i == 0 else f"{b['name']}.relu{i}"
            if b["downsample"]:
                inputs[b["downsample"]["name"]] = previous
            previous = f"{b['name']}.relu"
        dequantized = {}
        for c in convs + [{"name": "fc", "weight": fc.weight.detach(), "bias": fc.bias.detach()}]:
            scales, q = weight_parameters(c["weight"])
            input_scale = parameters[inputs.get(c["name"], "avgpool")][0]
            bias, bias_scales = bias_values(c["bias"], input_scale, scales)
            arrays[c["name"] + ".weight_scale"] = torch.from_numpy(scales)
            arrays[c["name"] + ".bias_quantized"] = torch.from_numpy(bias)
            weights[c["name"]] = {"sha256": hashlib.sha256(q.tobytes()).hexdigest(), "input": inputs.get(c["name"], "avgpool")}
            dequantized[c["name"]] = (torch.from_numpy(q.astype(numpy.float64) * scales.reshape((-1,) + (1,) * (q.ndim - 1)).astype(numpy.float64)),
                                      torch.from_numpy(bias.astype(numpy.float64) * bias_scales.astype(numpy.float64)))

        def fake_quantize(name, x):
            scale, zero_point = (float(p) for p in parameters["relu" if name == "maxpool" else name])
            q = torch.clamp(torch.round(x / scale) + zero_point, 0, 255)
            if name in LEVELS:
                arrays[f"{name}.levels"] = q.float()
            return (q - zero_point) * scale

        simulated_network = (
            dict(stem, weight=dequantized["conv1"][0], bias=dequantized["conv1"][1]),
            [dict(b, branch=[dict(c, weight=dequantized[c["name"]][0], bias=dequantized[c["name"]][1]) for c in b["branch"]],
                  downsample=dict(b["downsample"], weight=dequantized[b["downsample"]["name"]][0], bias=dequantized[b["downsample"]["name"]][1]) if b["downsample"] else None)
             for b in blocks],
            type("Fc", (), {"weight": dequantized["fc"][0], "bias": dequantized["fc"][1]})(),
        )
        with torch.no_grad():
            arrays["simulated_logits"] = run(simulated_network, images.double(), fake_quantize).float()
        write_arrays(directory, f"quantization_{case}.npz", arrays)
        manifest["cases"][case] = {
            "minmax": {name: [minmax[name][0], minmax[name][1], float(parameters[name][0]), parameters[name][1]] for name in minmax},
            "percentile": {name: list(r) + [float(p) for p in activation_parameters(*r)] for name, r in percentile.items()},
            "weights": weights,
        }
    write_json(directory, "quantization.json", manifest)
