"""Trainer.fit's first epoch with train.py's recipe pieces, replayed in PyTorch: TrivialAugmentWide and random
erasing in the preset, mixup or cutmix per batch (train.py's RandomChoice, its choice drawn as the C# side documents),
a separate weight decay for norm layers (utils.set_weight_decay), gradient clipping and an exponential moving
average of the weights (utils.ExponentialMovingAverage with train.py's decay adjustment). A small learning rate and
24 images a batch keep the run tame: at 0.05 and 16, PyTorch with one thread and with two differ by 1% on the fifth
step's loss (batch norm in layer4 normalises 16 numbers); here they agree to 1e-6 on all eight."""

import math
import os
import sys

import torch
import torchvision
from torchvision import transforms as T
from torchvision.models import resnet
from torchvision.transforms import InterpolationMode, autoaugment

from .common import MEAN, REPOSITORY, STD, sampled, write_arrays, write_json
from .engine import MASK64, load_batch, sample_seed
from .images import FASHION_MNIST_SMALL

sys.path.insert(0, os.path.join(REPOSITORY, "scripts"))
from reference_recipe import mix, weight_decay_groups  # noqa: E402  (scripts/ is not a package)

RECIPE = dict(seed=11, epochs=3, batch_size=24, lr=0.005, momentum=0.9, weight_decay=2e-5, norm_weight_decay=0.0,
              label_smoothing=0.1, mixup_alpha=0.2, cutmix_alpha=1.0, random_erase=0.25, auto_augment="ta_wide",
              clip_grad_norm=2.0, model_ema_steps=2, model_ema_decay=0.999, crop=32, min_scale=0.5)


def recipe(directory):
    r = RECIPE
    train = torchvision.datasets.ImageFolder(os.path.join(directory, FASHION_MNIST_SMALL, "train"))
    preset = T.Compose([T.RandomResizedCrop(r["crop"], scale=(r["min_scale"], 1.0), interpolation=InterpolationMode.BILINEAR),
                        T.RandomHorizontalFlip(0.5), autoaugment.TrivialAugmentWide(interpolation=InterpolationMode.BILINEAR),
                        T.PILToTensor(), T.ConvertImageDtype(torch.float), T.Normalize(mean=MEAN, std=STD),
                        T.RandomErasing(p=r["random_erase"])])
    torch.manual_seed(r["seed"])
    model = resnet.resnet18(num_classes=len(train.classes))
    optimizer = torch.optim.SGD(weight_decay_groups(model, r["weight_decay"], r["norm_weight_decay"]), r["lr"], r["momentum"], weight_decay=r["weight_decay"], nesterov=True)
    alpha = min(1.0, (1.0 - r["model_ema_decay"]) * (r["batch_size"] * r["model_ema_steps"] / r["epochs"]))
    decay = 1.0 - alpha
    ema = torch.optim.swa_utils.AveragedModel(model, "cpu", lambda avg, p, n: decay * avg + (1 - decay) * p, use_buffers=True)
    batches = len(train) // r["batch_size"]
    total = r["epochs"] * batches
    epoch = 1
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(sample_seed(r["seed"], epoch, MASK64)))
    model.train()
    optimizer.zero_grad()
    losses = []
    for b in range(batches):
        images, targets = load_batch(train, order, b, r["batch_size"], preset, r["seed"], epoch)
        generator = torch.Generator().manual_seed(sample_seed(r["seed"], epoch, MASK64 - 1 - b))
        batch, target = mix(images, targets, len(train.classes), r["mixup_alpha"], r["cutmix_alpha"], generator)
        loss = torch.nn.functional.cross_entropy(model(batch), target, label_smoothing=r["label_smoothing"])
        loss.backward()
        losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], r["clip_grad_norm"])
        for group in optimizer.param_groups:
            group["lr"] = r["lr"] * 0.5 * (1 + math.cos(math.pi * b / total))
        optimizer.step()
        optimizer.zero_grad()
        if b % r["model_ema_steps"] == 0:
            ema.update_parameters(model)
    result = {"losses": torch.tensor(losses, dtype=torch.float64), "n_averaged": ema.n_averaged.clone()}
    result.update(sampled({"final." + k: v for k, v in model.state_dict().items()}))
    result.update(sampled({"ema." + k: v for k, v in ema.module.state_dict().items()}))
    write_arrays(directory, "recipe.expected.npz", result)
    write_json(directory, "recipe.json", RECIPE)
