r"""The reproduction protocol: train / test splits, model selection inside training, refit, test scores.

For every data set and every :class:`~fairerm.baselines.Method`:

1. **Splits** (:class:`SplitPlan`, :func:`load_splits`). By default Adult uses its official train
   / test files (the test file is never used before the final evaluation) and ``adult_splits`` random
   2/3 - 1/3 splits of its 45,222 complete rows, COMPAS and German ``n_splits`` random 70 / 30 splits
   stratified by label and group. A plan may combine the
   official split with random stratified splits; each split of the per-split records carries its
   ``scheme`` (``"official"`` or ``"random"``) and index, so per-split (paired) comparisons
   between methods are possible (:func:`paired_differences`).
2. **Model selection** inside the training part only (:func:`run_task`): ``cv_folds``-fold
   stratified cross-validation over the method's grid. The preprocessor (one-hot encoding,
   standardisation) is fitted on each training fold alone; the sensitive attribute is sliced with
   the same fold indices as ``X`` and ``y``. Two rules (:func:`~fairerm.baselines.select_candidate`):
   *naive* rows take the best validation accuracy; every other row keeps the candidates within
   ``accuracy_tolerance`` (absolute) of the best validation accuracy and takes the one with the
   smallest validation DEO.
3. **Refit** with the chosen hyperparameters on the whole training part (preprocessor refitted on
   it), evaluate accuracy and DEO = :math:`|\mathrm{TPR}_a - \mathrm{TPR}_b|` on the test part.
   ``fit_seconds`` is the wall time of that refit.

:func:`summarise` turns the per-split records into the table (mean and standard deviation over
the splits of each data set and row).
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .._validation import check_scalar
from ._methods import Method, select_candidate

__all__ = ["DATASETS", "Split", "SplitPlan", "default_split_plans", "load_splits", "run_task", "summarise",
           "paired_differences"]

DATASETS = ("adult", "compas", "german")


@dataclass(frozen=True)
class SplitPlan:
    """How one data set is split into training and test parts.

    Attributes
    ----------
    official : bool
        Use the data set's official train / test split (Adult only has one).
    n_random : int
        Random splits, stratified by label and group, of all the data set's rows.
    test_size : float
        Share of the rows in the test part of a random split.
    """

    official: bool = False
    n_random: int = 0
    test_size: float = 0.3

    def __post_init__(self):
        check_scalar(self.n_random, "SplitPlan.n_random", kind=(int, np.integer), low=0)
        check_scalar(self.test_size, "SplitPlan.test_size", low=0.0, high=1.0, low_inclusive=False,
                     high_inclusive=False)
        if not self.official and self.n_random == 0:
            from ..exceptions import FairermValueError

            raise FairermValueError("A SplitPlan needs official=True or n_random >= 1; got neither.")

    def describe(self) -> str:
        parts = ["the official train / test files"] if self.official else []
        if self.n_random:
            parts.append(f"{self.n_random} random {round(100 * (1 - self.test_size))}/"
                         f"{round(100 * self.test_size)} splits stratified by label and group")
            if self.official:
                parts[-1] += " of the complete rows (missing values dropped) of both files"
        return " and ".join(parts)


def default_split_plans(n_splits: int, adult_splits: int = 0) -> dict[str, SplitPlan]:
    """Adult: its official split and ``adult_splits`` random 2/3 - 1/3 splits of its 45,222 complete rows;
    COMPAS and German: ``n_splits`` random 70 / 30 splits."""
    return {"adult": SplitPlan(official=True, n_random=adult_splits, test_size=1.0 / 3.0),
            "compas": SplitPlan(n_random=n_splits), "german": SplitPlan(n_random=n_splits)}


class Split(NamedTuple):
    """One train / test split of a data set (feature frames, 0/1 targets, group labels)."""

    dataset: str
    index: int
    X_train: pd.DataFrame
    y_train: np.ndarray
    s_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    s_test: np.ndarray
    categorical: list[str]
    kernel_rows: np.ndarray  # training rows the kernel methods use
    scheme: str = "random"  # "official" or "random"


def _frame_parts(bunch) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    return bunch.data.reset_index(drop=True), bunch.target.to_numpy(), bunch.sensitive.astype(str).to_numpy()


def _subsample(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def _load(name: str, subset: str | None = None):
    from ..datasets import load_adult, load_compas, load_german

    if name == "adult":  # the official files keep missing values as a category; random splits use complete rows
        return load_adult(subset=subset) if subset else load_adult(subset="all", missing="drop")
    return load_compas() if name == "compas" else load_german()


def load_splits(name: str, plan: SplitPlan, *, seed: int = 0, max_train: int | None = None,
                max_test: int | None = None, kernel_max_train: int | None = None) -> list[Split]:
    """The train / test splits of data set ``name`` under ``plan``.

    ``max_train`` / ``max_test`` subsample the training / official test parts (``--quick``);
    ``kernel_max_train`` draws the training rows the kernel methods use. Random splits are
    numbered after the official one.
    """
    from sklearn.model_selection import StratifiedShuffleSplit

    from ..exceptions import FairermValueError

    rng = np.random.default_rng(seed)
    splits: list[Split] = []
    if plan.official:
        if name != "adult":
            raise FairermValueError(f"only adult has an official train / test split; got official=True for {name!r}.")
        train, test = _load(name, "train"), _load(name, "test")
        X_tr, y_tr, s_tr = _frame_parts(train)
        X_te, y_te, s_te = _frame_parts(test)
        keep_tr = _subsample(len(y_tr), max_train, rng)
        keep_te = _subsample(len(y_te), max_test, rng)
        X_tr, y_tr, s_tr = X_tr.iloc[keep_tr].reset_index(drop=True), y_tr[keep_tr], s_tr[keep_tr]
        X_te, y_te, s_te = X_te.iloc[keep_te].reset_index(drop=True), y_te[keep_te], s_te[keep_te]
        kernel_rows = _subsample(len(y_tr), kernel_max_train, rng)
        splits.append(Split(name, 0, X_tr, y_tr, s_tr, X_te, y_te, s_te, list(train.categorical_features),
                            kernel_rows, "official"))
    if plan.n_random:
        bunch = _load(name)
        X, y, s = _frame_parts(bunch)
        strata = _strata(y, s)
        splitter = StratifiedShuffleSplit(n_splits=plan.n_random, test_size=plan.test_size, random_state=seed)
        for k, (tr, te) in enumerate(splitter.split(X, strata)):
            tr = tr[_subsample(len(tr), max_train, rng)]
            kernel_rows = _subsample(len(tr), kernel_max_train, rng)
            splits.append(Split(name, len(splits), X.iloc[tr].reset_index(drop=True), y[tr], s[tr],
                                X.iloc[te].reset_index(drop=True), y[te], s[te],
                                list(bunch.categorical_features), kernel_rows, "random"))
    return splits


def _preprocess(split: Split, train_frame: pd.DataFrame, other: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from ..datasets import make_preprocessor

    pre = make_preprocessor(train_frame, categorical_features=split.categorical)
    return pre.fit_transform(train_frame), pre.transform(other)


def _scores(y: np.ndarray, pred: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    from ..metrics import equal_opportunity_difference

    return float(np.mean(pred == y)), float(equal_opportunity_difference(y, pred, sensitive_features=s))


def _warning_summary(caught: Sequence[warnings.WarningMessage]) -> str:
    counts = Counter(f"{w.category.__name__} ({Path(w.filename).parent.name}/{Path(w.filename).name})" for w in caught)
    return "; ".join(f"{name} x{count}" for name, count in sorted(counts.items()))


def run_task(split: Split, method: Method, *, quick: bool, cv_folds: int, tolerance: float,
             seed: int) -> list[dict[str, Any]]:
    """Cross-validate ``method`` on ``split``'s training part, refit, and evaluate on its test part.

    Returns one record per table row of the method (selection rule).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # one BLAS thread per task: oversubscription made small fits 20x slower
        return _run_task(split, method, quick=quick, cv_folds=cv_folds, tolerance=tolerance, seed=seed)


_SEED_MODULUS = 2**32  # numpy's seeds: 0 ... 2**32 - 1


def _strata(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The (label, group) strata that the splits and the cross-validation folds are stratified by."""
    return pd.Series(y).astype(str).to_numpy() + "|" + np.asarray(s).astype(str)


def check_cv_folds(splits: Sequence[Split], methods: Sequence[Method], cv_folds: int, *, quick: bool) -> None:
    """Refuse ``cv_folds`` larger than the smallest (label, group) stratum of the rows cross-validated.

    Stratified folds need every stratum of the training rows in every fold; only the methods with more
    than one candidate are cross-validated.

    Raises
    ------
    FairermValueError
        With the smallest stratum: its size, data set, split, label and group.
    """
    from ..exceptions import FairermValueError

    smallest: tuple[int, str] | None = None
    for split in splits:
        for family in sorted({m.family for m in methods if len(m.candidates(quick)) > 1}):
            rows = split.kernel_rows if family == "kernel" else np.arange(len(split.y_train))
            strata, counts = np.unique(_strata(split.y_train[rows], split.s_train[rows]), return_counts=True)
            if not len(counts):
                continue
            k = int(np.argmin(counts))
            if smallest is None or counts[k] < smallest[0]:
                label, group = strata[k].split("|", 1)
                what = "the kernel methods' " if family == "kernel" else ""
                smallest = (int(counts[k]), f"{split.dataset} split {split.index}, label {label} and group {group!r} "
                                            f"in {what}{len(rows)} training rows")
    if smallest is not None and cv_folds > smallest[0]:
        raise FairermValueError(
            f"cv_folds (--cv-folds) must be at most {smallest[0]}, the size of the smallest (label, group) stratum "
            f"of the rows cross-validated ({smallest[1]}), since every fold is stratified by label and group; "
            f"got {cv_folds}. Ask for fewer folds, or for more training rows (--max-train, --kernel-max-train)."
        )


def _run_task(split: Split, method: Method, *, quick: bool, cv_folds: int, tolerance: float,
              seed: int) -> list[dict[str, Any]]:
    from sklearn.model_selection import StratifiedKFold

    from ..metrics import fairness_summary

    rows = split.kernel_rows if method.family == "kernel" else np.arange(len(split.y_train))
    X_frame, y, s = split.X_train.iloc[rows].reset_index(drop=True), split.y_train[rows], split.s_train[rows]
    candidates = method.candidates(quick)
    if len(candidates) > 1:
        check_cv_folds([split], [method], cv_folds, quick=quick)
    accuracy = np.full((len(candidates), cv_folds), np.nan)
    deo = np.full((len(candidates), cv_folds), np.nan)
    failures: list[str] = []
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        strata = _strata(y, s)
        # seed + index, wrapped into numpy's seed range (identical to seed + index wherever that is in range)
        folds = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=(seed + split.index) % _SEED_MODULUS)
        for f, (tr, va) in enumerate(folds.split(X_frame, strata) if len(candidates) > 1 else []):
            X_tr, X_va = _preprocess(split, X_frame.iloc[tr], X_frame.iloc[va])
            for k, params in enumerate(candidates):
                try:
                    model = method.fit(params, X_tr, y[tr], s[tr])
                    accuracy[k, f], deo[k, f] = _scores(y[va], method.predict(model, X_va, s[va]), s[va])
                except Exception as exc:  # a failed candidate is reported, never silently dropped
                    failures.append(f"{params}: {type(exc).__name__}: {exc}"[:200])
        selection_seconds = time.perf_counter() - start
        if len(candidates) > 1:
            mean_acc = np.where(np.isnan(accuracy).any(axis=1), -np.inf, accuracy.mean(axis=1))
            mean_deo = np.where(np.isnan(deo).any(axis=1), np.inf, deo.mean(axis=1))
        else:  # a single candidate: nothing to select, no cross-validation
            mean_acc, mean_deo = np.full(1, np.nan), np.full(1, np.nan)
        X_train, X_test = _preprocess(split, X_frame, split.X_test)
        refits: dict[int, tuple[Any, float]] = {}
        records = []
        for row_name, rule in method.rows.items():
            chosen = select_candidate(mean_acc, mean_deo, rule, tolerance)
            record = dict(dataset=split.dataset, split=split.index, scheme=split.scheme, method=row_name,
                          key=method.key, family=method.family, ours=method.ours, selection=rule,
                          params=str(candidates[chosen]), val_accuracy=float(mean_acc[chosen]),
                          val_deo=float(mean_deo[chosen]), n_train=len(y), n_test=len(split.y_test),
                          n_candidates=len(candidates), selection_seconds=selection_seconds)
            try:
                if chosen not in refits:
                    t0 = time.perf_counter()
                    model = method.fit(candidates[chosen], X_train, y, s)
                    refits[chosen] = (model, time.perf_counter() - t0)
                model, fit_seconds = refits[chosen]
                pred = method.predict(model, X_test, split.s_test)
                summary = fairness_summary(split.y_test, pred, sensitive_features=split.s_test)
                record.update(accuracy=summary["accuracy"], deo=summary["equal_opportunity_difference"],
                              ddp=summary["demographic_parity_difference"], fit_seconds=fit_seconds)
            except Exception as exc:
                failures.append(f"refit {candidates[chosen]}: {type(exc).__name__}: {exc}"[:200])
                record.update(accuracy=np.nan, deo=np.nan, ddp=np.nan, fit_seconds=np.nan)
            records.append(record)
    for record in records:
        record.update(warnings=_warning_summary(caught), failures=" | ".join(failures))
    return records


def _std(values: pd.Series) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over the splits of every (dataset, method) row."""
    def params_summary(values: pd.Series) -> str:
        return "; ".join(f"{p} x{c}" if c > 1 else p for p, c in Counter(values).most_common())

    def joined(values: pd.Series) -> str:
        return " | ".join(sorted({v for v in values if v}))

    grouped = runs.groupby(["dataset", "method"], sort=False)
    table = grouped.agg(
        family=("family", "first"), ours=("ours", "first"), selection=("selection", "first"),
        accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", _std),
        deo_mean=("deo", "mean"), deo_std=("deo", _std),
        ddp_mean=("ddp", "mean"), fit_seconds=("fit_seconds", "mean"),
        selection_seconds=("selection_seconds", "mean"), val_accuracy_mean=("val_accuracy", "mean"),
        val_deo_mean=("val_deo", "mean"), n_runs=("split", "count"), n_train=("n_train", "mean"),
        n_test=("n_test", "mean"), selected_params=("params", params_summary),
        warnings=("warnings", joined), failures=("failures", joined),
    ).reset_index()
    return table


def paired_differences(runs: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    r"""Per-split differences between each FERM row and each baseline row of the same data set.

    For rows :math:`a` (ours) and :math:`b` (a baseline) evaluated on the same :math:`k` splits,
    :math:`d_j = m_a(j) - m_b(j)` for the metric :math:`m` (accuracy, DEO), and the interval is
    Student's :math:`\bar d \pm t_{k-1, (1+c)/2}\, s_d / \sqrt{k}` (NaN when :math:`k < 2`). The
    pairing removes the split-to-split variation that both rows share.

    Returns
    -------
    DataFrame
        One row per (dataset, ours, baseline): ``n_pairs``, and for ``accuracy`` and ``deo`` the
        mean difference, its standard deviation and the interval bounds (``*_low``, ``*_high``).
    """
    from scipy import stats

    check_scalar(confidence, "confidence", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    out = []
    for dataset, part in runs.groupby("dataset", sort=False):
        wide = {metric: part.pivot_table(index="split", columns="method", values=metric, aggfunc="first")
                for metric in ("accuracy", "deo")}
        # "ours" is a bool column, or the strings "True"/"False" of a CSV read without conversion
        kinds = part.groupby("method", sort=False)["ours"].first().map(lambda v: str(v).strip().lower() == "true")
        for ours in kinds.index[kinds.to_numpy(bool)]:
            for baseline in kinds.index[~kinds.to_numpy(bool)]:
                record: dict[str, Any] = dict(dataset=dataset, ours=ours, baseline=baseline)
                for metric, table in wide.items():
                    d = (table[ours] - table[baseline]).dropna().to_numpy()
                    k = len(d)
                    mean = float(d.mean()) if k else np.nan
                    sd = float(d.std(ddof=1)) if k > 1 else np.nan
                    half = float(stats.t.ppf((1 + confidence) / 2, k - 1) * sd / np.sqrt(k)) if k > 1 else np.nan
                    record.update({"n_pairs": k, f"{metric}_diff": mean, f"{metric}_diff_std": sd,
                                   f"{metric}_low": mean - half, f"{metric}_high": mean + half})
                out.append(record)
    if out:
        return pd.DataFrame(out)
    # no pair (a run of our rows only): the columns all the same, for the report's checks
    return pd.DataFrame(columns=["dataset", "ours", "baseline", "n_pairs"]
                        + [f"{metric}{part}" for metric in ("accuracy", "deo")
                           for part in ("_diff", "_diff_std", "_low", "_high")])
