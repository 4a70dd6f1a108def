"""One training step, from the same weights and batch, in PyTorch.

Per case: the train-mode output, BatchNorm statistics after it, every gradient of cross_entropy, the parameters after
one SGD and one AdamW step from those gradients, and after two steps of each given seeded gradients (the update rules
alone), all computed in float64. In float32 these cases are ill-conditioned (batch norm over 2 images): PyTorch's own
float32 gradients are up to 0.24 from float64's, so a float32 comparison only checks that two implementations sum in
the same order. The C# side reruns them in float64 and checks its float32 gradients against PyTorch's float32 error,
stored per gradient as "error32.grad.KEY". Large tensors are stored sampled (common.sampled): a few MB a case.
"""

import torch

from . import cases
from .common import SEED, sampled, seeded, write_arrays, write_digests

OPTIMIZERS = {"sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}


def gradients(model, x, target):
    model.zero_grad()
    output = model(x)
    loss = torch.nn.functional.cross_entropy(output, target)
    loss.backward()
    return output.detach(), loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


def given_gradients(model, seed):
    """Two steps' worth of seeded standard-normal gradients, drawn parameter by parameter (the C# side draws the same)."""
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(p.shape, generator=generator, dtype=torch.float64) for p in model.parameters()] for _ in (1, 2)]


def training(directory):
    for name, case in cases.TRAINING.items():
        model, generator = seeded(case, 3)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        x = torch.rand([2, 3, 128, 128], generator=generator) * 2 - 1
        target = torch.tensor([3, 917])
        result = {"input": x, "target": target}

        model.train()
        _, _, grads32 = gradients(model, x, target)
        model = model.double()
        model.load_state_dict(initial)
        output, loss, grads = gradients(model, x.double(), target)
        result["output"] = output
        result["loss"] = loss
        for k, v in model.state_dict().items():
            if "running_" in k or "num_batches_tracked" in k:
                result["buffers." + k] = v.clone()
        for k, g in grads.items():
            result["grad." + k] = g
            result["error32.grad." + k] = ((grads32[k].double() - g).abs().max() / g.abs().max()).reshape(())

        for optimizer_name, options in cases.OPTIMIZERS.items():
            make = lambda parameters: OPTIMIZERS[optimizer_name](parameters, **options)
            # End to end: one step from the gradients above.
            model.load_state_dict(initial)
            optimizer = make(model.parameters())
            for k, p in model.named_parameters():
                p.grad = grads[k].clone()
            optimizer.step()
            for k, p in model.named_parameters():
                result[f"{optimizer_name}.step1.{k}"] = p.detach().clone()
            # The update rule alone: two steps given seeded gradients, so momentum and Adam's moments act.
            model.load_state_dict(initial)
            optimizer = make(model.parameters())
            for step, given in enumerate(given_gradients(model, SEED + 4), start=1):
                for p, g in zip(model.parameters(), given):
                    p.grad = g
                optimizer.step()
                for k, p in model.named_parameters():
                    result[f"{optimizer_name}.given{step}.{k}"] = p.detach().clone()

        write_digests(directory, f"training_{name}.weights.json", initial)
        write_arrays(directory, f"training_{name}.expected.npz", sampled(result, keep=("input",)))
