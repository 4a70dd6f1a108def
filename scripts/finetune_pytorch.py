#!/usr/bin/env python3
"""PyTorch's side of `torchvision-resnet finetune`: the same recipe with torchvision's ImageFolder, transforms and
DataLoader, for comparing accuracy and time per epoch.

    finetune_pytorch.py --data DIR/train --val DIR/test --model resnet18 --epochs 6 --batch-size 128 --lr 0.1 \
        --crop-size 32 --resize-size 32 --min-scale 0.35 --threads 2

Learning rate per optimizer step s of T (W of them warm-up): --schedule cosine rises linearly from 1% to the full
rate over --warmup-epochs, then follows a cosine to zero; --schedule step multiplies it by 0.1 every --step-epochs.
Prints one JSON line per epoch and a summary line.

train.py's recipe pieces, as finetune takes them: --auto-augment ta_wide|ra|imagenet|cifar10|svhn (bilinear),
--random-erase P, --mixup-alpha A and --cutmix-alpha A (references/classification/transforms.py's, one of the two
per batch), --norm-weight-decay W (utils.set_weight_decay), --clip-grad-norm N, and --model-ema with
--model-ema-steps and --model-ema-decay (utils.ExponentialMovingAverage, the decay adjusted as train.py adjusts it).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode, autoaugment

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_recipe import mix, weight_decay_groups  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def lr_factor(args, steps_per_epoch):
    total, warmup = args.epochs * steps_per_epoch, args.warmup_epochs * steps_per_epoch
    if args.schedule == "step":
        return lambda s: 0.1 ** (s // (args.step_epochs * steps_per_epoch))
    return lambda s: 0.01 + 0.99 * s / warmup if s < warmup else \
        0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))


def evaluate(model, loader):
    model.eval()
    top1 = top5 = count = 0
    with torch.inference_mode():
        for images, targets in loader:
            best = model(images).topk(5, 1).indices
            top1 += (best[:, 0] == targets).sum().item()
            top5 += (best == targets[:, None]).any(1).sum().item()
            count += len(targets)
    return 100.0 * top1 / count, 100.0 * top5 / count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--val", required=True)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--schedule", choices=["cosine", "step"], default="cosine")
    parser.add_argument("--warmup-epochs", type=int, default=1)
    parser.add_argument("--step-epochs", type=int, default=30)
    parser.add_argument("--crop-size", type=int, default=224)
    parser.add_argument("--resize-size", type=int, default=256)
    parser.add_argument("--min-scale", type=float, default=0.08)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--auto-augment", choices=["ta_wide", "ra", "imagenet", "cifar10", "svhn"])
    parser.add_argument("--random-erase", type=float, default=0.0)
    parser.add_argument("--mixup-alpha", type=float, default=0.0)
    parser.add_argument("--cutmix-alpha", type=float, default=0.0)
    parser.add_argument("--norm-weight-decay", type=float)
    parser.add_argument("--clip-grad-norm", type=float)
    parser.add_argument("--model-ema", action="store_true")
    parser.add_argument("--model-ema-steps", type=int, default=32)
    parser.add_argument("--model-ema-decay", type=float, default=0.99998)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    augment = {"ta_wide": lambda: [autoaugment.TrivialAugmentWide(interpolation=InterpolationMode.BILINEAR)],
               "ra": lambda: [autoaugment.RandAugment(interpolation=InterpolationMode.BILINEAR)],
               None: lambda: []}.get(args.auto_augment, lambda: [autoaugment.AutoAugment(autoaugment.AutoAugmentPolicy(args.auto_augment), InterpolationMode.BILINEAR)])()
    erase = [T.RandomErasing(args.random_erase)] if args.random_erase > 0 else []
    train = torchvision.datasets.ImageFolder(args.data, T.Compose([
        T.RandomResizedCrop(args.crop_size, scale=(args.min_scale, 1.0)), T.RandomHorizontalFlip(), *augment,
        T.ToTensor(), T.Normalize(MEAN, STD), *erase]))
    val = torchvision.datasets.ImageFolder(args.val, T.Compose([
        T.Resize(args.resize_size), T.CenterCrop(args.crop_size), T.ToTensor(), T.Normalize(MEAN, STD)]))
    train_loader = torch.utils.data.DataLoader(train, args.batch_size, shuffle=True, drop_last=True, num_workers=args.workers)
    val_loader = torch.utils.data.DataLoader(val, 256, num_workers=args.workers)

    model = torchvision.models.__dict__[args.model](num_classes=len(train.classes))
    parameters = model.parameters() if args.norm_weight_decay is None else weight_decay_groups(model, args.weight_decay, args.norm_weight_decay)
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(parameters, args.lr, args.momentum, weight_decay=args.weight_decay, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(parameters, args.lr, weight_decay=args.weight_decay)
    ema = None
    if args.model_ema:
        alpha = min(1.0, (1.0 - args.model_ema_decay) * args.batch_size * args.model_ema_steps / args.epochs)
        ema = torch.optim.swa_utils.AveragedModel(model, "cpu", lambda avg, p, n: (1 - alpha) * avg + alpha * p, use_buffers=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(args, len(train_loader)))

    train_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, loss_sum, steps = time.perf_counter(), 0.0, 0
        for i, (images, targets) in enumerate(train_loader):
            if args.mixup_alpha > 0 or args.cutmix_alpha > 0:
                images, targets = mix(images, targets, len(train.classes), args.mixup_alpha, args.cutmix_alpha)
            loss = F.cross_entropy(model(images), targets, label_smoothing=args.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            if args.clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], args.clip_grad_norm)
            optimizer.step()
            scheduler.step()
            if ema is not None and i % args.model_ema_steps == 0:
                ema.update_parameters(model)
                if epoch <= args.warmup_epochs:
                    ema.n_averaged.fill_(0)
            loss_sum += loss.item()
            steps += 1
        seconds = time.perf_counter() - start
        train_seconds += seconds
        top1, top5 = evaluate(model, val_loader)
        line = {"epoch": epoch, "train_loss": round(loss_sum / steps, 4), "val_top1": top1, "val_top5": top5,
                "epoch_seconds": round(seconds, 1), "images_per_second": round(steps * args.batch_size / seconds, 1)}
        if ema is not None:
            line["val_top1_ema"], line["val_top5_ema"] = evaluate(ema.module, val_loader)
        print(json.dumps(line), flush=True)
    print(json.dumps({"summary": True, "val_top1": top1, "mean_epoch_seconds": round(train_seconds / args.epochs, 1)}))


if __name__ == "__main__":
    main()
