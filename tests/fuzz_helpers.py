"""Shared pieces of the hypothesis fuzz suites (tests/test_fuzz_*.py): hostile data sets,
hypothesis profiles, and the tally of inputs tried and errors raised per entry point.

A helper module, not a test module: ``tests/conftest.py`` prints the tally at the end of a run
(and appends it to the file named by ``FAIRERM_FUZZ_REPORT``)."""

from __future__ import annotations

import collections
import os
import re

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

# "ci": the budget, at least 1,000 inputs per entry point (the slow job of .ci/run);
# "quick": a smoke run of the same properties in the default job.
_COMMON = dict(deadline=None, derandomize=True, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("ci", max_examples=int(os.environ.get("FAIRERM_FUZZ_EXAMPLES", "1000")), **_COMMON)
settings.register_profile("quick", max_examples=40, **_COMMON)
# The objective-against-cvxpy properties run a second, reference fit at up to 5,000 rows.
settings.register_profile("quick_small", max_examples=6, **_COMMON)
settings.register_profile("ci_against_cvxpy", max_examples=int(os.environ.get("FAIRERM_FUZZ_CVXPY_EXAMPLES", "100")),
                          **_COMMON)
CI = settings.get_profile("ci")
QUICK = settings.get_profile("quick")
QUICK_SMALL = settings.get_profile("quick_small")
CI_AGAINST_CVXPY = settings.get_profile("ci_against_cvxpy")

#: TALLY[entry point][outcome] = count; outcome "ok" or the exception's class name.
TALLY: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
#: INVARIANTS[entry point] = the invariants checked on every valid result.
INVARIANTS: dict[str, str] = {}

LABEL_KINDS = {
    "int01": (0, 1),
    "signed": (-1, 1),
    "strings": ("no", "yes"),
    "floats": (0.5, 2.5),
}
GROUP_KINDS = {
    "ints": lambda k: np.arange(k),
    "strings": lambda k: np.array([f"g{i}" for i in range(k)]),
}


@st.composite
def hostile_classification(draw, n_min=2, n_max=60, d_max=6):
    """(X, y, s, description): random shapes, scales, duplicates, constant columns, imbalance."""
    n = draw(st.integers(n_min, n_max), label="n")
    d = draw(st.integers(1, d_max), label="d")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    scale = 10.0 ** draw(st.sampled_from([-6, -3, 0, 0, 0, 3, 6]), label="log10 scale")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if draw(st.booleans(), label="integer-valued features"):
        X = np.round(X * 2)
    n_constant = draw(st.integers(0, d), label="constant columns")
    X[:, :n_constant] = rng.normal()
    n_groups = draw(st.integers(2, 4), label="groups")
    group_probs = rng.dirichlet(np.full(n_groups, draw(st.sampled_from([0.3, 1.0, 10.0]), label="balance")))
    codes = rng.choice(n_groups, size=n, p=group_probs)
    X[:, n_constant:] += draw(st.sampled_from([0.0, 1.0]), label="group shift") * codes[:, None]
    score = X[:, -1] + 0.5 * rng.normal(size=n) if d > n_constant else rng.normal(size=n)
    positive = score > np.quantile(score, draw(st.sampled_from([0.1, 0.5, 0.9]), label="negative share"))
    if draw(st.booleans(), label="a group with a single positive"):
        members = np.flatnonzero(codes == 0)
        positive[members] = False
        if members.size:
            positive[members[0]] = True
    if draw(st.integers(0, 3), label="duplicates") == 0 and n >= 4:
        half = n // 2
        X[half:2 * half], positive[half:2 * half], codes[half:2 * half] = X[:half], positive[:half], codes[:half]
    X = X * scale
    labels = LABEL_KINDS[draw(st.sampled_from(sorted(LABEL_KINDS)), label="label kind")]
    y = np.where(positive, labels[1], labels[0])
    if isinstance(labels[0], str):
        y = y.astype(object)
    groups = GROUP_KINDS[draw(st.sampled_from(sorted(GROUP_KINDS)), label="group kind")](n_groups)
    s = groups[codes]
    return X, y, s


_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def run_property(prop, profile, entries=()) -> None:
    """Run ``prop(data)`` under ``profile`` (a fresh function each time: hypothesis settings attach to it),
    and check that every entry point in ``entries`` received inputs during the run."""
    before = {entry: sum(TALLY[entry].values()) for entry in entries}

    def fuzz(data):
        prop(data)

    given(st.data())(profile(fuzz))()
    for entry in entries:
        assert sum(TALLY[entry].values()) > before[entry], f"{entry} received no input"


def record(entry: str, outcome: str) -> None:
    TALLY[entry][outcome] += 1
    event(f"{entry}: {outcome}")


def check_error(entry: str, exc: BaseException, argument_names) -> None:
    """A refused input: a ValueError/TypeError whose message names one of the entry point's arguments."""
    assert isinstance(exc, (ValueError, TypeError)), f"{entry} raised {type(exc).__name__}: {exc}"
    words = set(_NAME_PATTERN.findall(str(exc)))
    assert words & set(argument_names), f"{entry}: message names none of {sorted(argument_names)}: {exc}"
    record(entry, type(exc).__name__)


def positives_mean_gaps(X: np.ndarray, positive: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Rows m_g - m (two groups: m_a - m_b), m_g the mean of group g's positives, m the pooled one."""
    groups = np.unique(s)
    means = np.array([X[positive & (s == g)].mean(axis=0) for g in groups])
    if len(groups) == 2:
        return means[:1] - means[1:]
    return means - X[positive].mean(axis=0)


def tally_table() -> str:
    """A Markdown table: inputs tried, valid results, errors by type, invariants, per entry point."""
    lines = ["| entry point | inputs tried | valid results (kind: count) | refused (error type: count) | "
             "invariants checked |", "|---|---|---|---|---|"]
    for entry in sorted(TALLY):
        counts = TALLY[entry]
        refused = {name: count for name, count in counts.items() if name.endswith("Error")}
        valid = {name: count for name, count in counts.items() if name not in refused}
        valid_text = ", ".join(f"{name}: {count}" for name, count in sorted(valid.items())) or "none"
        refused_text = ", ".join(f"{name}: {count}" for name, count in sorted(refused.items())) or "none"
        lines.append(f"| {entry} | {sum(counts.values())} | {valid_text} | {refused_text} | "
                     f"{INVARIANTS.get(entry, '')} |")
    return "\n".join(lines)


def write_tally(path_env: str = "FAIRERM_FUZZ_REPORT") -> str:
    table = tally_table()
    path = os.environ.get(path_env)
    if path:
        with open(path, "a") as fh:
            fh.write(table + "\n\n")
    return table
