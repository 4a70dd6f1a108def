"""Pieces of torchvision's references/classification in PyTorch, as finetune runs them: transforms.py's RandomMixup
and RandomCutmix (with p=1.0, as train.py uses them) with their draws from an explicit generator, train.py's choice
of one of the two per batch, and utils.set_weight_decay's norm-layer groups. The fixture generator replays the C#
trainer with them, and finetune_pytorch.py trains with them."""

import math

import torch


def mixup(batch, target, alpha, generator=None):
    """RandomMixup: each image blended with the one before it, at λ ~ Beta(alpha, alpha)."""
    if torch.rand(1, generator=generator).item() >= 1.0:
        return batch, target
    batch_rolled, target_rolled = batch.roll(1, 0), target.roll(1, 0)
    lambda_param = float(torch._sample_dirichlet(torch.tensor([alpha, alpha]), generator=generator)[0])
    batch_rolled.mul_(1.0 - lambda_param)
    batch.mul_(lambda_param).add_(batch_rolled)
    target_rolled.mul_(1.0 - lambda_param)
    target.mul_(lambda_param).add_(target_rolled)
    return batch, target


def cutmix(batch, target, alpha, generator=None):
    """RandomCutmix: a box of each image replaced by the image before it; the targets blended by area."""
    if torch.rand(1, generator=generator).item() >= 1.0:
        return batch, target
    batch_rolled, target_rolled = batch.roll(1, 0), target.roll(1, 0)
    lambda_param = float(torch._sample_dirichlet(torch.tensor([alpha, alpha]), generator=generator)[0])
    H, W = batch.shape[-2:]
    r_x = torch.randint(W, (1,), generator=generator)
    r_y = torch.randint(H, (1,), generator=generator)
    r = 0.5 * math.sqrt(1.0 - lambda_param)
    r_w_half, r_h_half = int(r * W), int(r * H)
    x1, y1 = int(torch.clamp(r_x - r_w_half, min=0)), int(torch.clamp(r_y - r_h_half, min=0))
    x2, y2 = int(torch.clamp(r_x + r_w_half, max=W)), int(torch.clamp(r_y + r_h_half, max=H))
    batch[:, :, y1:y2, x1:x2] = batch_rolled[:, :, y1:y2, x1:x2]
    lambda_param = float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))
    target_rolled.mul_(1.0 - lambda_param)
    target.mul_(lambda_param).add_(target_rolled)
    return batch, target


def mix(batch, targets, num_classes, mixup_alpha, cutmix_alpha, generator=None):
    """A copy of the batch with one-hot targets, mixed by mixup or cutmix (one of the two, uniformly, when both
    are on: train.py chooses with Python's random, the C# side from the generator, as here)."""
    batch, target = batch.clone(), torch.nn.functional.one_hot(targets, num_classes).to(batch.dtype)
    if mixup_alpha > 0 and cutmix_alpha > 0:
        use_mixup = torch.randint(0, 2, (1,), generator=generator).item() == 0
    else:
        use_mixup = mixup_alpha > 0
    return mixup(batch, target, mixup_alpha, generator) if use_mixup else cutmix(batch, target, cutmix_alpha, generator)


def weight_decay_groups(model, weight_decay, norm_weight_decay):
    """utils.set_weight_decay with norm_weight_decay: the rest first, then the norm layers' parameters."""
    norm_classes = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm)
    other, norm = [], []
    for module in model.modules():
        for p in module.parameters(recurse=False):
            (norm if isinstance(module, norm_classes) else other).append(p)
    return [{"params": other, "weight_decay": weight_decay}, {"params": norm, "weight_decay": norm_weight_decay}]
