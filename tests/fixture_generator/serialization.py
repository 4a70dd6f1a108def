"""Checkpoints in every format and wrapping a user may bring, and files that are not checkpoints.

The full-size PyTorch-written checkpoint is forward_resnet18.weights.pt (see models.py); the wrappings and dtypes
here hold cases.SERIALIZATION's state dict, which the C# side rebuilds from the seed and checks by small.json.
"""

import argparse
import collections
import json
import os
import zipfile

import torch

from . import cases
from .common import SEED, seeded, write_digests

FOLDER = "serialization"


def write_safetensors(tensors, path):
    """safetensors without the safetensors package (not packaged for Debian 12): the format is a JSON header."""
    dtypes = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for key, tensor in tensors.items():
        blob = tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
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


class Exploit:
    """A pickle that would run a shell command if unpickled by Python's pickle: the C# reader must not."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class OverflowingView:
    """A tensor view whose strides overflow 64-bit arithmetic, so its end wraps round to inside its storage."""

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, (torch.zeros(4).storage(), 0, (3, 3), (2**62, 2**62), False, collections.OrderedDict())


def views_of_one_storage(sd):
    """Every float tensor a view of one flat storage, and fc.weight a transposed (non-contiguous) view."""
    flat = torch.cat([v.reshape(-1) for v in sd.values() if v.is_floating_point()])
    shared, offset = collections.OrderedDict(), 0
    for k, v in sd.items():
        if v.is_floating_point():
            shared[k] = flat[offset:offset + v.numel()].view(v.shape)
            offset += v.numel()
        else:
            shared[k] = v
    shared["fc.weight"] = sd["fc.weight"].t().contiguous().t()
    assert not shared["fc.weight"].is_contiguous()
    return shared


def serialization(directory, marker_directory):
    """marker_directory: where the tests look for the exploit's marker (the final fixtures folder, not the staging one)."""
    out = os.path.join(directory, FOLDER)
    os.makedirs(out)
    model, _ = seeded(cases.SERIALIZATION, 2)
    sd = model.state_dict()
    path = lambda name: os.path.join(out, name)
    write_digests(out, "small.json", sd)

    write_safetensors(sd, path("small.safetensors"))
    torch.save(views_of_one_storage(sd), path("small_views.pth"))
    torch.save({"epoch": 7, "args": argparse.Namespace(lr=0.1), "state_dict": sd}, path("small_checkpoint_state_dict.pth"))
    torch.save({"model": {"module." + k: v for k, v in sd.items()}, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}},
               path("small_checkpoint_model_ddp.pth"))
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp64", torch.float64)):
        torch.save({k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}, path(f"small_{name}.pth"))
    mismatched = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith("layer4."))
    mismatched["extra.weight"] = torch.zeros(3)
    mismatched["fc.weight"] = torch.zeros(1000, 512)
    torch.save(mismatched, path("small_mismatched.pth"))
    torch.save(model, path("small_whole_model.pth"))

    # Files whose first bytes already decide: their tensors' size does not matter.
    head = {"conv1.weight": sd["conv1.weight"]}
    torch.save(head, path("legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(head, path("truncated.pth"))
    with open(path("truncated.pth"), "rb") as f:
        whole = f.read()
    with open(path("truncated.pth"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    torch.save(Exploit(os.path.join(marker_directory, FOLDER, "exploit-ran")), path("exploit.pth"))
    torch.save({"epoch": 7, "lr": 0.1}, path("no_tensors.pth"))
    torch.save({"conv1.weight": OverflowingView()}, path("stride_overflow.pth"))
    # Small, whole checkpoints for the fuzz tests to break.
    tiny = collections.OrderedDict(weight=torch.randn(4, 3, generator=torch.Generator().manual_seed(SEED)), bias=torch.zeros(4))
    torch.save(tiny, path("tiny.pth"))
    write_safetensors(tiny, path("tiny.safetensors"))
    # A torch.save zip whose data.pkl inflates to 200 MB of zeros (200 KB on disk).
    with zipfile.ZipFile(path("pickle_bomb.pth"), "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("archive/data.pkl", bytes(200 << 20))
    with open(path("random.bin"), "wb") as f:
        f.write(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(SEED), dtype=torch.uint8).numpy().tobytes())
    from PIL import Image
    Image.new("RGB", (8, 8), (200, 30, 30)).save(path("image.jpg"))
