"""Trainer.fit's first epoch, replayed in PyTorch: the same sample order, augmentation, schedule and accumulation."""

import math
import os

import torch
import torchvision
from torchvision.models import resnet

from .common import classic_preset, sampled, train_preset, write_arrays, write_digests, write_json
from .images import FASHION_MNIST_SMALL

ENGINE = dict(seed=7, epochs=2, batch_size=32, accumulation=2, lr=0.01, momentum=0.9, weight_decay=5e-4,
              label_smoothing=0.1, warmup_epochs=1, crop=32, min_scale=0.5)
MASK64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def sample_seed(seed, epoch, sample):
    """ImageFolderLoader's documented seed for one sample of one epoch (sample MASK64: the epoch's shuffle)."""
    return splitmix64(splitmix64(splitmix64(seed) ^ epoch) ^ sample)


def load_batch(dataset, order, b, batch_size, preset, seed, epoch):
    """Batch b of an epoch as ImageFolderLoader builds it: each sample augmented from its own seed."""
    from PIL import Image
    images, targets = [], []
    for index in order[b * batch_size:(b + 1) * batch_size].tolist():
        path, target = dataset.samples[index]
        torch.manual_seed(sample_seed(seed, epoch, index))
        images.append(preset(Image.open(path).convert("RGB")))
        targets.append(target)
    return torch.stack(images), torch.tensor(targets)


def training_engine(directory):
    """Only one epoch: on 200 images at 32x32 (layer4 is 1x1, so batch norm there normalises 32 numbers) the run is
    chaotic enough that PyTorch with one thread and with two disagree by 0.05 in the loss by the second epoch."""
    e = ENGINE
    train = torchvision.datasets.ImageFolder(os.path.join(directory, FASHION_MNIST_SMALL, "train"))
    test = torchvision.datasets.ImageFolder(os.path.join(directory, FASHION_MNIST_SMALL, "test"), classic_preset(e["crop"], e["crop"]))
    preset = train_preset(e["crop"], (e["min_scale"], 1.0))
    torch.manual_seed(e["seed"])
    model = resnet.resnet18(num_classes=len(train.classes))
    write_digests(directory, "engine.initial.json", model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), e["lr"], e["momentum"], weight_decay=e["weight_decay"], nesterov=True)
    batches = len(train) // e["batch_size"]
    steps_per_epoch = math.ceil(batches / e["accumulation"])
    total, warmup = e["epochs"] * steps_per_epoch, e["warmup_epochs"] * steps_per_epoch
    factor = lambda s: 0.01 + 0.99 * s / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
    epoch, step = 1, 0
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(sample_seed(e["seed"], epoch, MASK64)))
    model.train()
    optimizer.zero_grad()
    losses = []
    for b in range(batches):
        images, targets = load_batch(train, order, b, e["batch_size"], preset, e["seed"], epoch)
        loss = torch.nn.functional.cross_entropy(model(images), targets, label_smoothing=e["label_smoothing"])
        (loss / e["accumulation"]).backward()
        losses.append(loss.item())
        if (b + 1) % e["accumulation"] == 0 or b + 1 == batches:
            for group in optimizer.param_groups:
                group["lr"] = e["lr"] * factor(step)
            optimizer.step()
            optimizer.zero_grad()
            step += 1
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x) for x, _ in torch.utils.data.DataLoader(test, 64)])
    top1 = 100.0 * (logits.argmax(1) == torch.tensor(test.targets)).double().mean().item()
    result = {"order1": order, "epoch1.losses": torch.tensor(losses, dtype=torch.float64), "epoch1.top1": torch.tensor(top1, dtype=torch.float64)}
    result.update(sampled({"final." + k: v for k, v in model.state_dict().items()}))
    write_arrays(directory, "engine.expected.npz", result)
    write_json(directory, "engine.json", ENGINE)
