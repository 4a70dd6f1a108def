"""PyTorch's ground truth for the xunit suite, one module per area.

    /usr/bin/python3 -m fixture_generator OUT        (from tests/; the test project's build runs it)

Every oracle the C# tests read is written here by PyTorch and numpy: tensors as .npz (numpy's own format, so no
reader of ours is its own oracle), metadata as JSON, and a few PyTorch-written checkpoints for the loader's tests.
cases.json lists what was generated; the xunit theories take their cases from it.
"""
