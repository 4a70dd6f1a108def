"""Learning rates step by step from PyTorch's own schedulers, configured as torchvision's reference training script
(references/classification/train.py) configures them: LinearLR or ConstantLR warm-up at lr_warmup_decay, then
CosineAnnealingLR, StepLR or ExponentialLR, chained by SequentialLR. The reference steps them once an epoch; the C# trainer steps
once an optimizer step, so here every length is in steps (epochs x steps_per_epoch)."""

import torch

from .common import write_json

STEPS_PER_EPOCH = 7
WARMUP_DECAY = 0.01  # the reference's --lr-warmup-decay
CASES = {
    "cosine": dict(schedule="cosine", epochs=5, warmup_epochs=1),
    "cosine_no_warmup": dict(schedule="cosine", epochs=3, warmup_epochs=0),
    "step": dict(schedule="step", epochs=5, warmup_epochs=0, step_epochs=2, gamma=0.1),
    "step_linear_warmup": dict(schedule="step", epochs=5, warmup_epochs=1, step_epochs=2, gamma=0.5),
    "exponential_constant_warmup": dict(schedule="exponential", epochs=4, warmup_epochs=1, gamma=0.9,
                                        warmup_method="constant", warmup_decay=0.3),
}


def scheduler(optimizer, case):
    steps = lambda epochs: epochs * STEPS_PER_EPOCH
    warmup = steps(case["warmup_epochs"])
    if case["schedule"] == "step":
        main = torch.optim.lr_scheduler.StepLR(optimizer, step_size=steps(case["step_epochs"]), gamma=case["gamma"])
    elif case["schedule"] == "exponential":
        # once an epoch in train.py; here the per-step factor that makes gamma an epoch
        main = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=case["gamma"] ** (1 / STEPS_PER_EPOCH))
    else:
        main = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps(case["epochs"]) - warmup, eta_min=0.0)
    if warmup == 0:
        return main
    decay = case.get("warmup_decay", WARMUP_DECAY)
    if case.get("warmup_method", "linear") == "constant":
        warm = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=decay, total_iters=warmup)
    else:
        warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=decay, total_iters=warmup)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers=[warm, main], milestones=[warmup])


def schedules(directory):
    """For two parameter groups (base rates 0.1 and 0.01), each step's rates."""
    result = {}
    for name, case in CASES.items():
        optimizer = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]},
                                     {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01}], lr=0.1)
        lr_scheduler = scheduler(optimizer, case)
        lrs = []
        for _ in range(case["epochs"] * STEPS_PER_EPOCH):
            lrs.append([g["lr"] for g in optimizer.param_groups])
            optimizer.step()
            lr_scheduler.step()
        result[name] = {"case": case, "steps_per_epoch": STEPS_PER_EPOCH, "warmup_decay": WARMUP_DECAY, "base_lrs": [0.1, 0.01], "lrs": lrs}
    write_json(directory, "schedules.json", result)
