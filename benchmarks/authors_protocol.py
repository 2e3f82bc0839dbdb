"""Adult under the FERM authors' fixed hyperparameters and two encodings (see docs/reproduction.rst).

Prints the table that the "Our numbers against the authors' code" section of
benchmarks/results/ferm_table.md quotes. Usage::

    python benchmarks/authors_protocol.py [--seed 0]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this source tree's fairerm, not another one

from fairerm.baselines._authors import authors_protocol  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    table = authors_protocol(parser.parse_args().seed)
    print(table.to_markdown(index=False, floatfmt=".4f"))  # to_markdown needs tabulate (fairerm[baselines])
