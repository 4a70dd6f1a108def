#!/usr/bin/env python3
"""The classic PyTorch classification script, extended the way a Python user would for a folder: a DataLoader with
2 worker processes over an ImageFolder-style list of files, batch 8, then softmax and the top-5 printed per image.
The same preprocessing as torchvision's ResNet weights (Resize(256), CenterCrop(224), ToTensor, Normalize).

    /usr/bin/python3 benchmarks/classify_pytorch.py --model resnet50 --weights W.pth FOLDER [--batch-size 8] [--workers 2] [--threads N]

Prints one line per image, then (on stderr) the images per second of the whole run, start-up included.
"""

import argparse
import os
import sys
import time

START = time.perf_counter()

import torch  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

PREPROCESS = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


class Files(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as image:
            return PREPROCESS(image.convert("RGB"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch.set_num_threads (default: the cores; Debian's PyTorch 1.13 starts with one on the 2-vCPU "
                             "AMD EPYC, where its ResNet-50 then runs 12x slower)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    files = sorted(os.path.join(args.folder, f) for f in os.listdir(args.folder))
    model = getattr(torchvision.models, args.model)()
    model.load_state_dict(torch.load(args.weights))
    model.eval()
    loader = torch.utils.data.DataLoader(Files(files), batch_size=args.batch_size, num_workers=args.workers)
    done = 0
    with torch.inference_mode():
        for batch in loader:
            probabilities, indices = torch.softmax(model(batch), dim=1).topk(5, dim=1)
            for p, k in zip(probabilities.tolist(), indices.tolist()):
                print(files[done], " ".join(f"{i}:{q:.6f}" for i, q in zip(k, p)))
                done += 1
    elapsed = time.perf_counter() - START
    print(f"{done} images in {elapsed:.2f} s: {done / elapsed:.1f} images/s", file=sys.stderr)


if __name__ == "__main__":
    main()
