"""Without PyTorch, fairerm.representation imports, and using it names the extra to install.

Absence is simulated in a fresh interpreter by a meta-path finder that refuses ``torch`` (so
``import torch`` raises ImportError; ``sys.modules['torch'] = None`` would break scipy, which
probes ``sys.modules`` for torch arrays), so the test also runs where torch is installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys


    class BlockTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None


    sys.meta_path.insert(0, BlockTorch())  # `import torch` now raises ImportError

    import numpy as np
    import fairerm
    import fairerm.representation as rep
    from fairerm.exceptions import SolverNotInstalledError

    assert rep.torch_available() is False
    assert "torch" not in sys.modules
    calls = {
        "construct": lambda: rep.FairRepresentation(),
        "lazy export": lambda: fairerm.FairRepresentation(penalty="sinkhorn"),
        "mmd": lambda: rep.mmd2_unbiased(np.zeros((3, 2)), np.ones((3, 2))),
        "sinkhorn": lambda: rep.sinkhorn_divergence(np.zeros((3, 2)), np.ones((3, 2))),
        "group_divergence": lambda: rep.group_divergence(np.zeros((4, 2)), [0, 0, 1, 1]),
    }
    for name, call in calls.items():
        try:
            call()
        except SolverNotInstalledError as exc:
            assert isinstance(exc, ImportError), name
            assert 'pip install "fairerm[torch]"' in str(exc), (name, str(exc))
        else:
            raise AssertionError(f"{name}: no SolverNotInstalledError without torch")
    print("OK")
    """
)


def test_module_imports_without_torch_and_usage_names_the_extra():
    completed = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "OK"
