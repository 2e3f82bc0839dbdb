"""Regenerate benchmarks/results/ferm_table.md: ``fairerm reproduce`` writing into benchmarks/results/.

The protocol, the baselines and the command's options are those of ``fairerm reproduce`` (the code
is in fairerm/baselines/, the protocol in docs/reproduction.rst); this script only changes the
default output folder to this source tree's benchmarks/results/. Usage::

    python benchmarks/reproduce_ferm.py --n-jobs 2       # the full table (Adult 1 + 10 splits, 30 for the others:
                                                         # several hours on 2 cores; --adult-splits, --n-splits,
                                                         # --methods and --append run it in parts)
    python benchmarks/reproduce_ferm.py --quick          # a smoke run: *_quick files
    python benchmarks/reproduce_ferm.py --report-only    # rebuild the Markdown and plots from the CSV
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this source tree's fairerm, not another one

from fairerm.baselines._command import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], prog="reproduce_ferm.py", default_output_dir=ROOT / "benchmarks" / "results",
                          command="python benchmarks/reproduce_ferm.py"))
