"""The list of cases: what is generated, and what the xunit theories run (they read it back from cases.json)."""

from torchvision.models import resnet

# torchvision's builders, in its order; the C# registry must list the same.
ARCHITECTURES = [name for name in resnet.__all__ if name.islower()]

# Seeded initial weights: the C# port must draw the same random numbers in the same order.
INIT = {
    "resnet18": dict(arch="resnet18"),
    "resnet50": dict(arch="resnet50"),
    "resnext50_32x4d": dict(arch="resnext50_32x4d"),
    "resnet18_zero_init_residual": dict(arch="resnet18", options={"zero_init_residual": True}),
    "resnet50_zero_init_residual": dict(arch="resnet50", options={"zero_init_residual": True}),
    "resnet50_dilation_ftt": dict(arch="resnet50", options={"replace_stride_with_dilation": [False, True, True]}),
    "resnet18_groupnorm": dict(arch="resnet18", options={"norm_layer": "GroupNorm32"}),
    "resnet18_num_classes_10": dict(arch="resnet18", options={"num_classes": 10}),
}

# Forward parity: weights with non-trivial norm statistics, an input, and PyTorch's outputs in each mode.
# Train mode needs layer4 at least 4x4: batch statistics over fewer values amplify float noise past any meaningful
# tolerance, so the deep ones run in eval mode only, on small inputs (layer4 2x2).
EVAL_AND_TRAIN, EVAL = ["eval", "train"], ["eval"]
FORWARD = {
    "resnet18": dict(arch="resnet18", input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnet18_nonsquare": dict(arch="resnet18", input=[1, 3, 160, 224], modes=EVAL_AND_TRAIN),
    "resnet34": dict(arch="resnet34", input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnet50": dict(arch="resnet50", input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnext50_32x4d": dict(arch="resnext50_32x4d", input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "wide_resnet50_2": dict(arch="wide_resnet50_2", input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnet50_dilation_ftt": dict(arch="resnet50", options={"replace_stride_with_dilation": [False, True, True]},
                                  input=[1, 3, 96, 128], modes=EVAL_AND_TRAIN),
    "resnet18_groupnorm": dict(arch="resnet18", options={"norm_layer": "GroupNorm32"}, input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnet18_frozenbn": dict(arch="resnet18", options={"norm_layer": "FrozenBatchNorm2d"}, input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnet50_num_classes_10": dict(arch="resnet50", options={"num_classes": 10}, input=[2, 3, 128, 128], modes=EVAL_AND_TRAIN),
    "resnet101": dict(arch="resnet101", input=[1, 3, 64, 64], modes=EVAL),
    "resnet152": dict(arch="resnet152", input=[1, 3, 64, 64], modes=EVAL),
    "resnext101_32x8d": dict(arch="resnext101_32x8d", input=[1, 3, 64, 64], modes=EVAL),
    "resnext101_64x4d": dict(arch="resnext101_64x4d", input=[1, 3, 64, 64], modes=EVAL),
    "wide_resnet101_2": dict(arch="wide_resnet101_2", input=[1, 3, 64, 64], modes=EVAL),
}

# The forward cases the fast path (FusedResNet) is checked on, each in both layouts: every block and norm kind, a
# dilation and a new head, without the deep ones that add only time.
FUSED = ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "resnet50_dilation_ftt", "resnet18_frozenbn",
         "resnet18_groupnorm", "resnet50_num_classes_10"]

# The fast path in 16 bits, against the float32 model: the forward case, the dtype and the bound on the relative error
# of the logits. bfloat16 keeps 8 significant bits (float16: 11), rounded after each of ~50 layers; measured on AMD
# EPYC: bfloat16 6.1e-3 (resnet18) and 5.3e-3 (resnet50), float16 8.0e-4.
HALF_PRECISION = [["resnet18", "BFloat16", 2e-2], ["resnet50", "BFloat16", 2e-2], ["resnet50", "Float16", 3e-3]]

# The forward cases int8 export is checked on against quantization.py's oracle: both block kinds, with and without a
# downsampling shortcut in the first stage.
INT8 = ["resnet18", "resnet50"]

# Fuzzing: fixture files (relative to the fixtures folder) of which broken copies must fail with one clean error.
FUZZ = {
    "images": ["images/chelsea_tiny.png", "jpeg/exif_6.jpg", "jpeg/astronaut_progressive_420.jpg", "images/chelsea.gif",
               "images/chelsea.webp", "images/chelsea.bmp"],
    "checkpoints": ["serialization/tiny.pth", "serialization/tiny.safetensors", "serialization/legacy.pth"],
}

# The forward cases whose weights are also kept as PyTorch-written checkpoints: the command line's and the loader's.
CHECKPOINTS = ["resnet18"]

# Training parity: one step from the same weights and batch, with each optimizer (torch.optim's keyword arguments).
TRAINING = {name: dict(arch=name) for name in ["resnet18", "resnet50", "resnext50_32x4d"]}
OPTIMIZERS = {"sgd": dict(lr=0.1, momentum=0.9, weight_decay=1e-4), "adamw": dict(lr=1e-3, weight_decay=1e-2)}

# The loader's wrappings and dtypes, on a resnet of one BasicBlock per stage (4.9 M parameters, a fifth of
# resnet18's bytes): the format of the weights, not their number, is what they test.
SERIALIZATION = dict(block="BasicBlock", layers=[1, 1, 1, 1], options={"num_classes": 10})


def manifest():
    return {"architectures": ARCHITECTURES, "init": INIT, "forward": FORWARD, "fused": FUSED, "half_precision": HALF_PRECISION,
            "int8": INT8, "fuzz": FUZZ, "checkpoints": CHECKPOINTS, "training": TRAINING, "optimizers": OPTIMIZERS, "serialization": SERIALIZATION}
