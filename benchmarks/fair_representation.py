"""Fair representations (Oneto et al., NeurIPS 2020): fair *and* useful, measured against anchors.

Usage::

    python benchmarks/fair_representation.py            # full run (about 30-40 min on 2 cores)
    python benchmarks/fair_representation.py --quick    # smoke test, about a minute (*_quick files)
    python benchmarks/fair_representation.py --render-only   # tables and figures from the saved CSV
    python benchmarks/fair_representation.py --speed-only    # the epoch times again, the rest from the saved CSV

Protocol (ours; no number from the paper is quoted, its tables were not available here):

1. Splits. Adult: the official training file (32,561 rows) and test file (16,281 rows); per seed,
   20 % of the training rows (stratified by group) are the *validation* split and the other 80 %
   train everything. COMPAS, German, synthetic: per seed a 60 / 20 / 20 train / validation / test
   split stratified by group. The preprocessor (one-hot, standardisation) is fitted on the
   training rows. The sensitive attribute is never a feature, and no model sees it at predict time.
2. Tasks. *Task 1* is the data set's label, the training task of the representation.
   The *transfer* task is a binary task that the representation never sees; its columns are
   removed from the features, and it is learnable from the rest (raw-feature lift over the
   majority rate of 5 points or more):

   * Adult (sex): task 1 income > 50K; transfer ``age > 40`` (the ``age`` column removed, so it
     must be read from marital status, relationship, education, hours...): lift about 13 points,
     raw-feature DDP about 0.13 (older people are more often men in this sample).
   * COMPAS (race, African-American vs Caucasian): task 1 two-year recidivism; transfer
     ``COMPAS decile score >= 5`` (the tool's own risk score, not a feature): lift about 23 points,
     raw-feature DDP about 0.25.
   * German (sex): task 1 good credit; transfer ``credit_amount > median`` (amount and duration
     removed from the features).
   * synthetic: 8 Gaussian features, the first three shifted by 1 in group 1; task 1
     ``1[x0 + x3 + noise > 0.5]``; transfer ``1[x0 + x1 - x4 + noise > 0.5]``.
3. Representation. ``FairRepresentation`` with an MLP (64,) -> 16, task 1 as the only head and a
   linear decoder of the standardised features (``reconstruction_weight=1``) that keeps what
   task 1 does not need; AdamW lr 1e-3, batches of ``min(512, n_train / 8)`` rows stratified by
   group, early stopping on the validation loss of a 10 % hold-out of the training rows (the
   training objective, ``n_iter_no_change=10``, best epoch restored), at most ``max_epochs``.
   Penalties: unbiased MMD^2 (median bandwidth) and the Sinkhorn divergence (epsilon = median
   squared distance), both of the batch's representation up to scale.
4. Downstream. A logistic regression (``C=1``) fitted on ``transform(X_train)`` for each task,
   scored on validation and test. Anchors on the same rows: the logistic regression on the raw
   features; ``FairProjection(constraint="demographic_parity")`` followed by it (a fair *linear*
   representation); fairlearn's ``ExponentiatedGradient(DemographicParity(0.01))`` around it
   (randomised: ``predict`` draws from its mixture with a fixed ``random_state``); and, as a
   reference for what demographic parity costs on these features, one threshold per group on the
   raw-feature logistic regression at a common positive rate (it needs s at predict time). And the
   reference for what *any* group-blind classifier can reach, a representation and its head
   included: the plug-in estimate of the Bayes-optimal group-blind rule under demographic parity
   (``GroupBlindPlugIn``, Menon & Williamson 2018), with P(y | x) and P(s | x) estimated by a
   logistic regression or by gradient boosting and its multiplier chosen on validation; its
   *ceiling* (the multiplier chosen on the test rows themselves, optimistic) is reported too.
5. Reported per row: accuracy and demographic-parity difference (DDP) on the test split for task 1
   and transfer, each with the test majority rate and a collapse flag (accuracy within 1 point of
   the majority rate, or a representation whose variance fell below 1 % of the unpenalised one's);
   the MMD^2 between the groups of the test representation; fit time and epochs.
6. Training length. On Adult (seed 0), MMD lambda = 30 is also trained for a fixed 10, 20, 40 and
   80 epochs without early stopping: the fairness of a fixed lambda depends on when training stops.
7. Selection. A target is checked on the row chosen on the *validation* split: per seed and
   penalty, the lambda with the highest validation accuracy among the non-collapsed rows whose
   validation DDP is within the target; its *test* numbers are reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fair_representation_report import SELECTION_DDP, markdown, plot_fronts  # noqa: E402

from fairerm.exceptions import ConvergenceWarning  # noqa: E402
from fairerm.representation import FairRepresentation, group_divergence  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COLLAPSE_ACCURACY = 0.01  # accuracy within this of the majority rate: no information
COLLAPSE_VARIANCE = 0.01  # representation variance below this fraction of lambda = 0's


def ddp(prediction: np.ndarray, sensitive: np.ndarray) -> float:
    rates = [prediction[sensitive == g].mean() for g in np.unique(sensitive)]
    return float(max(rates) - min(rates))


def majority(y: np.ndarray) -> float:
    return float(max(y.mean(), 1.0 - y.mean()))


# ----------------------------------------------------------------------------------- data
def synthetic(n: int = 4000) -> dict:
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 8))
    X[:, :3] += 1.0 * s[:, None]
    noise = 0.3 * rng.normal(size=(n, 2))
    task = (X[:, 0] + X[:, 3] + noise[:, 0] > 0.5).astype(int)
    transfer = (X[:, 0] + X[:, 1] - X[:, 4] + noise[:, 1] > 0.5).astype(int)
    return dict(features=pd.DataFrame(X, columns=[f"x{j}" for j in range(8)]), task=task, transfer=transfer, sensitive=s)


def real(name: str) -> dict:
    from fairerm import datasets

    if name == "adult":
        parts = [datasets.load_adult(subset=subset, include_sensitive=False) for subset in ("train", "test")]
        data = pd.concat([p.data for p in parts], ignore_index=True)
        out = dict(features=data.drop(columns=["age"]), task=np.concatenate([p.target.to_numpy() for p in parts]),
                   transfer=(data["age"] > 40).to_numpy().astype(int),
                   sensitive=np.concatenate([np.asarray(p.sensitive) for p in parts]),
                   official_test=np.arange(len(parts[0].data), len(data)))
        return out
    if name == "compas":
        bunch = datasets.load_compas(include_sensitive=False)
        return dict(features=bunch.data, task=bunch.target.to_numpy(), transfer=(np.asarray(bunch.compas_score) >= 5).astype(int),
                    sensitive=np.asarray(bunch.sensitive))
    if name == "german":
        bunch = datasets.load_german(include_sensitive=False)
        data = bunch.data
        return dict(features=data.drop(columns=["duration_months", "credit_amount"]), task=np.asarray(bunch.target).astype(int),
                    transfer=(data["credit_amount"] > data["credit_amount"].median()).to_numpy().astype(int),
                    sensitive=np.asarray(bunch.sensitive))
    raise ValueError(f"unknown data set {name!r}")


def stratified_parts(index: np.ndarray, sensitive: np.ndarray, fractions: list[float], rng) -> list[np.ndarray]:
    """Split ``index`` into parts of the given fractions (the last takes the rest), stratified by group."""
    parts = [[] for _ in fractions]
    for group in np.unique(sensitive[index]):
        members = rng.permutation(index[sensitive[index] == group])
        cuts = np.round(np.cumsum(fractions)[:-1] * len(members)).astype(int)
        for part, chunk in zip(parts, np.split(members, cuts)):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def splits(data: dict, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1000 + seed)
    n = len(data["sensitive"])
    if "official_test" in data:
        test = data["official_test"]
        train, validation = stratified_parts(np.setdiff1d(np.arange(n), test), data["sensitive"], [0.8, 0.2], rng)
        return train, validation, test
    return tuple(stratified_parts(np.arange(n), data["sensitive"], [0.6, 0.2, 0.2], rng))


# ----------------------------------------------------------------------------------- models
def anchors(X: dict, data: dict, index: dict, args) -> list[dict]:
    """Task-1 and transfer scores of the raw-feature logistic regression and the fair anchors."""
    from fairerm.preprocessing import FairProjection

    s = {part: data["sensitive"][index[part]] for part in index}
    methods = {"raw features": lambda: LogisticRegression(max_iter=2000),
               "FairProjection(DP) + LR": lambda: _projection_pipeline(FairProjection)}
    if args.expgrad:
        methods["ExpGrad(DP 0.01) + LR"] = _expgrad
    methods["group thresholds on LR (uses s)"] = GroupThresholds
    methods["group-blind plug-in, LR"] = lambda: GroupBlindPlugIn(lambda: LogisticRegression(max_iter=2000))
    methods["group-blind plug-in, HGB"] = lambda: GroupBlindPlugIn(_gradient_boosting)
    rows = []
    for method, make in methods.items():
        row = dict(method=method, penalty_weight=np.nan)
        start = time.perf_counter()
        for task in ("task", "transfer"):
            y = {part: data[task][index[part]] for part in index}
            model = make()
            kwargs = {} if method == "raw features" else {"sensitive_features": s["train"]}
            if method.startswith("FairProjection"):
                kwargs = {"fairprojection__sensitive_features": s["train"]}
            if isinstance(model, GroupBlindPlugIn):
                kwargs.update(validation=(X["validation"], y["validation"], s["validation"]), max_ddp=SELECTION_DDP[task])
            model.fit(X["train"], y["train"], **kwargs)
            if isinstance(model, GroupBlindPlugIn):
                row[f"{task}_test_ceiling_accuracy"] = model.ceiling(X["test"], y["test"], s["test"], SELECTION_DDP[task])
            if isinstance(model, GroupThresholds):
                _score(row, task, None, X, y, s, predict_with_groups=model.predict)
            else:
                _score(row, task, model.predict, X, y, s)
        row["fit_seconds"] = time.perf_counter() - start
        rows.append(row)
    return rows


class GroupThresholds:
    """Demographic parity by one threshold per group on a raw-feature logistic regression's scores,
    all at the common positive rate that maximises the training accuracy (needs s at predict time:
    a reference for what a DP-fair classifier on these features can reach, not a competitor)."""

    def fit(self, X, y, sensitive_features):
        self.model = LogisticRegression(max_iter=2000).fit(X, y)
        scores, groups = self.model.decision_function(X), np.asarray(sensitive_features)
        best = (-1.0, 0.5)
        for rate in np.linspace(0.005, 0.995, 199):
            prediction = self._thresholded(scores, groups, rate, scores, groups)
            best = max(best, (float(np.mean(prediction == y)), rate))
        self.rate_, self.scores_, self.groups_ = best[1], scores, groups
        return self

    @staticmethod
    def _thresholded(scores, groups, rate, reference, reference_groups):
        prediction = np.zeros(len(scores), dtype=int)
        for g in np.unique(reference_groups):
            cut = np.quantile(reference[reference_groups == g], 1.0 - rate)
            prediction[groups == g] = scores[groups == g] > cut
        return prediction

    def predict(self, X, sensitive_features):
        return self._thresholded(self.model.decision_function(X), np.asarray(sensitive_features), self.rate_, self.scores_, self.groups_)


class GroupBlindPlugIn:
    r"""Plug-in estimate of the most accurate *group-blind* classifier under demographic parity
    (the Bayes-optimal rule of Menon & Williamson, "The cost of fairness in binary classification",
    FAT* 2018, with estimated probabilities): a reference for what any classifier of x alone, a
    representation followed by a head included, can reach on these features.

    With :math:`\eta(x) = P(y = 1 \mid x)`, :math:`q(x) = P(s = a \mid x)` and :math:`\pi_g = P(s = g)`
    for two groups, :math:`P(h = 1 \mid s = a) = \mathbb E[h(x)q(x)]/\pi_a`, so for :math:`h(x) \in [0, 1]`
    accuracy and the group gap are both linear in :math:`h`: accuracy :math:`= P(y = 0) + \mathbb E[h(x)(2\eta(x) - 1)]`,
    gap :math:`= \mathbb E[h(x)(q(x)/\pi_a - (1 - q(x))/\pi_b)]`. Maximising the first with the second
    fixed is a linear program whose Lagrangian is maximised pointwise by
    :math:`h_\lambda(x) = \mathbf 1[2\eta(x) - 1 > \lambda(q(x)/\pi_a - (1 - q(x))/\pi_b)]` (ties, where
    randomising would matter, have probability zero for continuous scores), so the optimal rules
    form the one-parameter family :math:`h_\lambda`. Here :math:`\eta` and :math:`q` are estimated on the
    training rows by ``make_estimator()`` and :math:`\lambda` is the most accurate on the validation split
    among those with validation DDP <= ``max_ddp`` (the representation's selection rule; the
    constant rule that predicts the training majority label is a candidate too). s is used
    to fit, never to predict; the rule is deterministic."""

    def __init__(self, make_estimator):
        self.make_estimator = make_estimator

    def fit(self, X, y, sensitive_features, validation, max_ddp):
        s = np.asarray(sensitive_features)
        groups = np.unique(s)
        if groups.size != 2:
            raise ValueError(f"GroupBlindPlugIn needs exactly two groups; got {groups.size}.")
        self.group_ = groups[0]
        self.prior_ = float(np.mean(s == self.group_))
        self.majority_label_ = int(np.mean(y) > 0.5)
        self.label_model_ = self.make_estimator().fit(X, y)
        self.group_model_ = self.make_estimator().fit(X, (s == self.group_).astype(int))
        X_val, y_val, s_val = validation
        self.multiplier_ = self.best_multiplier(X_val, y_val, s_val, max_ddp)
        return self

    def parts(self, X):
        """(gain, cost) = (2 eta(x) - 1, q(x)/pi_a - (1 - q(x))/pi_b) of the estimated probabilities."""
        eta = self.label_model_.predict_proba(X)[:, 1]
        q = self.group_model_.predict_proba(X)[:, 1]
        return 2.0 * eta - 1.0, q / self.prior_ - (1.0 - q) / (1.0 - self.prior_)

    def best_multiplier(self, X, y, s, max_ddp):
        """The most accurate rule of the family on the rows (X, y, s) among those with DDP <= max_ddp
        there, exactly: as lambda grows, row i's prediction flips once, at lambda = gain_i/cost_i, so
        sorting these breakpoints visits every distinct rule the family has on the rows. Returns a
        multiplier inside the chosen interval, or nan for the constant rule (the training majority
        label, DDP 0, a group-blind rule too) when it is at least as accurate."""
        gain, cost = self.parts(X)
        y, in_a = np.asarray(y) == 1, np.asarray(s) == self.group_
        n_a, n_b = int(in_a.sum()), int((~in_a).sum())
        h = (cost > 0) | ((cost == 0) & (gain > 0))  # lambda -> -inf
        moving = np.flatnonzero(cost != 0)
        if moving.size == 0:  # q = pi_a everywhere: no rule of the family moves the gap
            return 0.0 if ddp(h.astype(int), s) <= max_ddp and np.mean(h == y) > np.mean(y == bool(self.majority_label_)) else np.nan
        ratio = gain[moving] / cost[moving]
        order = np.argsort(ratio, kind="stable")
        rows, ratio = moving[order], ratio[order]
        step = np.where(cost[rows] > 0, -1, 1)  # cost > 0: 1 -> 0 as lambda passes the ratio; cost < 0: 0 -> 1
        correct = np.concatenate([[np.sum(h == y)], np.sum(h == y) + np.cumsum(step * np.where(y[rows], 1, -1))])
        pos_a = np.concatenate([[np.sum(h & in_a)], np.sum(h & in_a) + np.cumsum(step * in_a[rows])])
        pos_b = np.concatenate([[np.sum(h & ~in_a)], np.sum(h & ~in_a) + np.cumsum(step * ~in_a[rows])])
        last = np.concatenate([[0], 1 + np.flatnonzero(np.append(np.diff(ratio) > 0, True))])  # ends of tie runs
        gaps = np.abs(pos_a[last] / max(n_a, 1) - pos_b[last] / max(n_b, 1))
        accuracy = correct[last] / len(y)
        constant = float(np.mean(y == bool(self.majority_label_)))
        eligible = np.flatnonzero(gaps <= max_ddp)
        if eligible.size == 0 or accuracy[eligible].max() <= constant:
            return np.nan
        j = last[eligible[int(np.argmax(accuracy[eligible]))]]  # state after the first j breakpoints
        if j == 0:
            return float(ratio[0] - 1.0)
        if j == ratio.size:
            return float(ratio[-1] + 1.0)
        return float(0.5 * (ratio[j - 1] + ratio[j]))

    def predict(self, X, multiplier=None):
        multiplier = self.multiplier_ if multiplier is None else multiplier
        if np.isnan(multiplier):
            return np.full(X.shape[0], self.majority_label_, dtype=int)
        gain, cost = self.parts(X)
        return (gain > multiplier * cost).astype(int)

    def ceiling(self, X, y, s, max_ddp) -> float:
        """The best accuracy of the family on (X, y) among the rules with DDP <= max_ddp *there*: the
        multiplier chosen on the very rows it is scored on, an optimistic ceiling (not a result)."""
        return float(np.mean(self.predict(X, self.best_multiplier(X, y, s, max_ddp)) == y))


def _gradient_boosting():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)


def _projection_pipeline(FairProjection):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(FairProjection(constraint="demographic_parity"), LogisticRegression(max_iter=2000))


def _expgrad():
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    class Wrapped:
        def __init__(self):
            self.model = ExponentiatedGradient(LogisticRegression(max_iter=2000), DemographicParity(difference_bound=0.01))

        def fit(self, X, y, sensitive_features):
            self.model.fit(X, y, sensitive_features=sensitive_features)
            return self

        def predict(self, X):
            return self.model.predict(X, random_state=0)

    return Wrapped()


def _score(row: dict, task: str, predict, X: dict, y: dict, s: dict, predict_with_groups=None) -> None:
    for part in ("validation", "test"):
        if predict_with_groups is not None:
            prediction = np.asarray(predict_with_groups(X[part], s[part])).astype(int)
        else:
            prediction = np.asarray(predict(X[part])).astype(int)
        row[f"{task}_{part}_accuracy"] = float(np.mean(prediction == y[part]))
        row[f"{task}_{part}_ddp"] = ddp(prediction, s[part])
        row[f"{task}_{part}_majority"] = majority(y[part])


def representation_rows(X: dict, data: dict, index: dict, args, seed: int, grid=None, fixed_epochs=None) -> list[dict]:
    """One row per (penalty, lambda); with ``fixed_epochs``, (mmd, lambda, epochs) trained without early stopping."""
    s = {part: data["sensitive"][index[part]] for part in index}
    grid = grid or [("none", 0.0, None)] + [(p, w, None) for p in args.penalties for w in args.weights[p]]
    batch_size = int(min(512, max(32, len(index["train"]) // 8)))
    rows, base_variance = [], None
    for penalty, weight, epochs in grid:
        model = FairRepresentation(
            penalty="mmd" if penalty == "none" else penalty, penalty_weight=weight, hidden_layer_sizes=(64,),
            representation_dim=16, reconstruction_weight=1.0, batch_size=batch_size, learning_rate=1e-3,
            max_epochs=epochs or args.epochs, early_stopping=epochs is None, validation_fraction=0.1, n_iter_no_change=10,
            tol=1e-4 if epochs is None else 0.0, sinkhorn_max_iter=50, random_state=seed,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X["train"], data["task"][index["train"]], sensitive_features=s["train"])
        row = dict(method="representation" if epochs is None else "fixed epochs", penalty=penalty, penalty_weight=weight,
                   fit_seconds=time.perf_counter() - start, n_epochs=model.n_epochs_, best_epoch=model.best_epoch_)
        Z = {part: model.transform(X[part]) for part in X}
        variance = float(Z["test"].var(axis=0).sum())
        base_variance = variance if (penalty == "none" or base_variance is None) else base_variance
        row["variance_ratio"] = variance / base_variance if base_variance else np.nan
        for task in ("task", "transfer"):
            y = {part: data[task][index[part]] for part in index}
            head = LogisticRegression(max_iter=2000).fit(Z["train"], y["train"])
            _score(row, task, head.predict, Z, y, s)
        sub = np.random.default_rng(seed).permutation(len(index["test"]))[:2000]
        row["test_mmd2"] = group_divergence(Z["test"][sub], s["test"][sub])
        rows.append(row)
        print(f"  seed {seed} {penalty:8s} lambda={weight:<5g} task1 {row['task_test_accuracy']:.3f}/{row['task_test_ddp']:.3f} "
              f"transfer {row['transfer_test_accuracy']:.3f}/{row['transfer_test_ddp']:.3f} var {row['variance_ratio']:.3f} "
              f"epochs {model.n_epochs_} ({row['fit_seconds']:.0f} s)", flush=True)
    return rows


def add_flags(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    low_variance = table.get("variance_ratio", pd.Series(np.nan, index=table.index)).fillna(1.0) < COLLAPSE_VARIANCE
    for task in ("task", "transfer"):
        for part in ("validation", "test"):
            near = table[f"{task}_{part}_accuracy"] - table[f"{task}_{part}_majority"] < COLLAPSE_ACCURACY
            table[f"{task}_{part}_collapsed"] = near | low_variance
    return table


def run_dataset(name: str, data: dict, args) -> list[dict]:
    from fairerm.datasets import make_preprocessor

    rows = []
    for seed in range(args.seeds):
        index = dict(zip(("train", "validation", "test"), splits(data, seed)))
        if args.max_train and len(index["train"]) > args.max_train:
            index["train"] = np.sort(np.random.default_rng(seed).permutation(index["train"])[: args.max_train])
        pre = make_preprocessor(data["features"]).fit(data["features"].iloc[index["train"]])
        X = {part: pre.transform(data["features"].iloc[idx]) for part, idx in index.items()}
        found = anchors(X, data, index, args) + representation_rows(X, data, index, args, seed)
        if name == "adult" and seed == 0 and args.length_epochs:
            # training length: the same lambda, stopped after a fixed number of epochs (no early stopping)
            found += representation_rows(X, data, index, args, seed, grid=[("mmd", 30.0, e) for e in args.length_epochs])
        for row in found:
            row.update(dataset=name, seed=seed, n_train=len(index["train"]), n_test=len(index["test"]))
            rows.append(row)
    return rows


def _cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def epoch_times(args) -> list[dict]:
    """Seconds per epoch on all of Adult's training rows (no hold-out), per penalty and thread count."""
    from fairerm.datasets import make_preprocessor

    data = real("adult")
    train = np.setdiff1d(np.arange(len(data["sensitive"])), data["official_test"])
    X = make_preprocessor(data["features"]).fit_transform(data["features"].iloc[train])
    rows = []
    with warnings.catch_warnings():  # one untimed epoch first: torch's one-time set-up is not an epoch's cost
        warnings.simplefilter("ignore", ConvergenceWarning)
        FairRepresentation(penalty="sinkhorn", penalty_weight=10.0, reconstruction_weight=1.0, batch_size=512, max_epochs=1,
                           sinkhorn_max_iter=50, n_threads=1, random_state=0).fit(
            X, data["task"][train], sensitive_features=data["sensitive"][train])
    for threads in (1, 2):
        for penalty, weight in (("none", 0.0), ("mmd", 30.0), ("sinkhorn", 10.0)):
            model = FairRepresentation(penalty="mmd" if penalty == "none" else penalty, penalty_weight=weight,
                                       reconstruction_weight=1.0, batch_size=512, max_epochs=args.speed_epochs,
                                       sinkhorn_max_iter=50, n_threads=threads, random_state=0)
            load = os.getloadavg()[0]  # other jobs on the machine's cores: threads then wait on each other
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, data["task"][train], sensitive_features=data["sensitive"][train])
            seconds = (time.perf_counter() - start) / model.n_epochs_
            rows.append(dict(device="cpu", threads=threads, penalty=penalty, rows=len(train), batch_size=512, seconds_per_epoch=seconds,
                             load_average=load, cpu=_cpu_name(), cores=os.cpu_count()))
            print(f"  epoch time: {threads} thread(s) {penalty:8s} {seconds:.2f} s", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: synthetic and German, one seed, few epochs")
    parser.add_argument("--datasets", nargs="+", default=None, help="synthetic german compas adult")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--render-only", action="store_true", help="rewrite the tables and figures from the saved CSV")
    parser.add_argument("--speed-only", action="store_true", help="measure the epoch times again, then render from the saved CSV")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="folder of the tables and figures (default: %(default)s)")
    args = parser.parse_args(argv)
    results = args.results_dir
    args.penalties = ["mmd", "sinkhorn"]
    if args.quick:
        args.datasets = args.datasets or ["synthetic", "german"]
        args.seeds, args.epochs, args.max_train, args.speed_epochs = args.seeds or 1, 5, 1500, 0
        args.weights = {"mmd": [30.0], "sinkhorn": [10.0]}
        args.expgrad, args.length_epochs = False, []
    else:
        args.datasets = args.datasets or ["synthetic", "german", "compas", "adult"]
        args.seeds, args.epochs, args.max_train, args.speed_epochs = args.seeds or 2, 60, None, 3
        args.weights = {"mmd": [10.0, 30.0, 50.0, 100.0, 300.0], "sinkhorn": [3.0, 10.0, 30.0, 100.0]}
        args.expgrad, args.length_epochs = True, [10, 20, 40, 80]
    stem = "fair_representation_quick" if args.quick else "fair_representation"
    results.mkdir(parents=True, exist_ok=True)
    csv, speed_csv = results / f"{stem}.csv", results / f"{stem}_epoch_times.csv"
    if args.render_only or args.speed_only:
        table = pd.read_csv(csv)
        speed = pd.read_csv(speed_csv) if speed_csv.exists() else None
        if args.speed_only and args.speed_epochs:
            speed = pd.DataFrame(epoch_times(args))
            speed.to_csv(speed_csv, index=False)
    else:
        rows, started = [], time.perf_counter()
        for name in args.datasets:
            print(name, flush=True)
            rows += run_dataset(name, synthetic() if name == "synthetic" else real(name), args)
            pd.DataFrame(rows).to_csv(csv, index=False)  # after every data set: a long run keeps what it finished
        speed = pd.DataFrame(epoch_times(args)) if args.speed_epochs else None
        if speed is not None:
            speed.to_csv(speed_csv, index=False)
        print(f"total {time.perf_counter() - started:.0f} s", flush=True)
        table = pd.DataFrame(rows)
    table = add_flags(table)
    text = markdown(table, speed, args)
    (results / f"{stem}.md").write_text(text + "\n")
    if not args.quick:
        plot_fronts(table, results)
    print(text)


if __name__ == "__main__":
    main()
