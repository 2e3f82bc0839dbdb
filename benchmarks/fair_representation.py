"""Fair representation learning (Oneto et al., NeurIPS 2020): lambda sweeps and transfer.

Protocol (ours; the paper's text and numbers were not available here, so none are quoted):

1. Each data set gives *training tasks* (columns of Y for :class:`FairRepresentation`) and one
   held-out binary *transfer task* that the representation never sees. Task columns are
   removed from the features; so is the sensitive attribute (its proxies stay).
2. Per seed: a random 70/30 train/test split (stratified by group), the one-hot/standardising
   preprocessor fitted on the training rows, a representation fitted on the training rows for
   each (penalty, lambda), then a logistic regression for the transfer task fitted on
   ``transform(X_train)`` and scored on ``transform(X_test)``.
3. Reported (mean +- std over seeds): transfer-task test accuracy and demographic parity
   difference (DDP), accuracy of the first training task, MMD^2 between the groups of the test
   representation (median-heuristic bandwidth), and the fit time. Row "raw features" is the
   logistic regression on the preprocessed features, without a representation.

Data sets and tasks:

* synthetic: 8 Gaussian features, the first three shifted by 1 in group 1; training tasks
  ``1[x0 + x3 + noise > 0.5]`` (binary) and ``x1 + x4 + noise`` (regression); transfer task
  ``1[x0 + x1 - x4 + noise > 0.5]``.
* Adult (sex): training tasks income > 50K and education_num; transfer task hours_per_week > 40.
* COMPAS (race, African-American vs Caucasian): training tasks two-year recidivism and
  priors_count; transfer task COMPAS decile score >= 5.
* German (sex): training tasks good credit and duration_months; transfer task
  credit_amount > median.

Run ``python benchmarks/fair_representation.py --quick`` (a couple of minutes on 2 cores) or
without ``--quick`` for the full sweep; tables go to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from fairerm.exceptions import ConvergenceWarning
from fairerm.representation import FairRepresentation, group_divergence, transfer_evaluate

RESULTS = Path(__file__).resolve().parent / "results"


def synthetic(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 8))
    X[:, :3] += 1.0 * s[:, None]
    noise = 0.3 * rng.normal(size=(n, 3))
    Y = np.column_stack([(X[:, 0] + X[:, 3] + noise[:, 0] > 0.5).astype(int), X[:, 1] + X[:, 4] + noise[:, 1]])
    transfer = (X[:, 0] + X[:, 1] - X[:, 4] + noise[:, 2] > 0.5).astype(int)
    return dict(features=pd.DataFrame(X, columns=[f"x{j}" for j in range(8)]), Y=Y, transfer=transfer, sensitive=s)


def real(name: str) -> dict:
    from fairerm import datasets

    if name == "adult":
        bunch = datasets.load_adult(include_sensitive=False)
        data = bunch.data
        Y = np.column_stack([bunch.target.to_numpy(), data["education_num"].to_numpy(float)])
        transfer = (data["hours_per_week"] > 40).astype(int).to_numpy()
        features = data.drop(columns=["education_num", "education", "hours_per_week"])
    elif name == "compas":
        bunch = datasets.load_compas(include_sensitive=False)
        data = bunch.data
        Y = np.column_stack([bunch.target.to_numpy(), data["priors_count"].to_numpy(float)])
        transfer = (np.asarray(bunch.compas_score) >= 5).astype(int)
        features = data.drop(columns=["priors_count"])
    elif name == "german":
        bunch = datasets.load_german(include_sensitive=False)
        data = bunch.data
        Y = np.column_stack([bunch.target.to_numpy(), data["duration_months"].to_numpy(float)])
        transfer = (data["credit_amount"] > data["credit_amount"].median()).astype(int).to_numpy()
        features = data.drop(columns=["duration_months", "credit_amount"])
    else:
        raise ValueError(name)
    return dict(features=features.reset_index(drop=True), Y=Y, transfer=transfer, sensitive=np.asarray(bunch.sensitive))


def split_indices(sensitive: np.ndarray, rng: np.random.Generator, max_train: int | None) -> tuple[np.ndarray, np.ndarray]:
    train, test = [], []
    for group in np.unique(sensitive):
        members = rng.permutation(np.flatnonzero(sensitive == group))
        cut = int(round(0.7 * len(members)))
        train.append(members[:cut])
        test.append(members[cut:])
    train, test = rng.permutation(np.concatenate(train)), np.concatenate(test)
    if max_train is not None and len(train) > max_train:
        train = train[:max_train]
        test = rng.permutation(test)[: max(max_train // 2, 1)]
    return train, test


def run_dataset(name: str, data: dict, args, rows: list) -> None:
    from fairerm.datasets import make_preprocessor

    for seed in range(args.seeds):
        rng = np.random.default_rng(1000 + seed)
        train, test = split_indices(data["sensitive"], rng, args.max_train)
        pre = make_preprocessor(data["features"]).fit(data["features"].iloc[train])
        X_train, X_test = pre.transform(data["features"].iloc[train]), pre.transform(data["features"].iloc[test])
        s_train, s_test = data["sensitive"][train], data["sensitive"][test]
        y_train, y_test = data["transfer"][train], data["transfer"][test]
        batch_size = int(min(256, max(32, len(train) // 16)))  # at least ~16 steps per epoch on small data
        raw = transfer_evaluate(None, LogisticRegression(max_iter=1000), X_train, y_train, X_test, y_test, sensitive_train=s_train, sensitive_test=s_test)
        rows.append(dict(dataset=name, seed=seed, penalty="raw features", penalty_weight=np.nan, transfer_accuracy=raw.accuracy,
                         transfer_ddp=raw.demographic_parity_difference, task1_accuracy=np.nan, representation_mmd2=np.nan, fit_seconds=0.0))
        grid = [("mmd", 0.0)] + [(penalty, weight) for penalty in args.penalties for weight in args.weights[penalty]]
        for penalty, weight in grid:  # lambda = 0 is the same model for every penalty: run once
                model = FairRepresentation(
                    penalty=penalty, penalty_weight=weight, hidden_layer_sizes=(64,), representation_dim=16,
                    max_epochs=args.epochs, batch_size=batch_size, learning_rate=1e-3, sinkhorn_max_iter=50, random_state=seed,
                )
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X_train, data["Y"][train], sensitive_features=s_train)
                elapsed = time.perf_counter() - start
                result = transfer_evaluate(model, LogisticRegression(max_iter=1000), X_train, y_train, X_test, y_test,
                                           sensitive_train=s_train, sensitive_test=s_test)
                task1 = float(np.mean(model.predict(X_test)[:, 0].astype(float) == data["Y"][test, 0]))
                Z_test = model.transform(X_test)
                sub = rng.permutation(len(test))[:2000]
                rows.append(dict(dataset=name, seed=seed, penalty=penalty if weight > 0 else "none", penalty_weight=weight,
                                 transfer_accuracy=result.accuracy, transfer_ddp=result.demographic_parity_difference,
                                 task1_accuracy=task1, representation_mmd2=group_divergence(Z_test[sub], s_test[sub]),
                                 fit_seconds=elapsed))
                last = rows[-1]
                print(f"{name:9s} seed {seed} {last['penalty']:8s} lambda={weight:<5g} acc={last['transfer_accuracy']:.3f} "
                      f"ddp={last['transfer_ddp']:.3f} task1={task1:.3f} mmd2={last['representation_mmd2']:.4f} ({elapsed:.1f}s)", flush=True)


def markdown(table: pd.DataFrame, args, n_rows: dict) -> str:
    def cell(column: pd.Series) -> str:
        values = column.dropna()
        if values.empty:
            return "-"
        return f"{values.mean():.3f} +- {values.std(ddof=0):.3f}"

    lines = [
        "# Fair representation learning: lambda sweeps and transfer",
        "",
        f"Command: `python benchmarks/fair_representation.py{' --quick' if args.quick else ''}`; "
        f"{args.seeds} seed(s), {args.epochs} epochs, MLP (64,) -> 16, batch min(256, n_train / 16), AdamW lr 1e-3; "
        f"at most {args.max_train} training rows per split. Mean +- std over seeds. CPU, torch "
        f"threads = 1. Protocol and tasks: see the docstring of the script. No numbers from the paper are quoted "
        "(its text was not available here).",
        "",
        "Columns: *transfer acc / DDP*: logistic regression for the held-out task on `transform(X)` "
        "(test split); *task-1 acc*: the representation's own head for the first training task; "
        "*test MMD^2 of h*: unbiased MMD^2 between the groups of the test representation (can be "
        "slightly negative); *fit s*: wall seconds on a shared 2-core machine with other jobs "
        "running, indicative only. Training stops early when the training loss has not improved by "
        "1e-4 for 10 epochs. The lambda grids differ per penalty because the two divergences live on "
        "different scales.",
        "",
    ]
    for dataset, part in table.groupby("dataset", sort=False):
        lines += [f"## {dataset} ({n_rows[dataset]} rows)", "",
                  "| penalty | lambda | transfer acc | transfer DDP | task-1 acc | test MMD^2 of h | fit s |",
                  "|---|---|---|---|---|---|---|"]
        for (penalty, weight), group in part.groupby(["penalty", "penalty_weight"], sort=False, dropna=False):
            lam = "-" if np.isnan(weight) else f"{weight:g}"
            lines.append(f"| {penalty} | {lam} | {cell(group.transfer_accuracy)} | {cell(group.transfer_ddp)} | "
                         f"{cell(group.task1_accuracy)} | {cell(group.representation_mmd2)} | {group.fit_seconds.mean():.1f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sweep, a couple of minutes")
    parser.add_argument("--datasets", nargs="+", default=None, help="synthetic adult compas german")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--render-only", action="store_true", help="rewrite the Markdown table from the saved CSV")
    args = parser.parse_args(argv)
    args.penalties = ["mmd", "sinkhorn"]
    # The two penalties live on different scales (MMD^2 <= 2 with the median bandwidth; the Sinkhorn
    # divergence is in squared representation distances), so each has its own lambda grid.
    if args.quick:
        args.datasets = args.datasets or ["synthetic", "german"]
        args.seeds, args.epochs, args.max_train = args.seeds or 2, 15, 1000
        args.weights = {"mmd": [1.0, 10.0], "sinkhorn": [1.0, 10.0]}
    else:
        args.datasets = args.datasets or ["synthetic", "german", "compas", "adult"]
        args.seeds, args.epochs, args.max_train = args.seeds or 3, 30, 3000
        args.weights = {"mmd": [1.0, 10.0, 100.0], "sinkhorn": [0.3, 1.0, 10.0]}
    rows, n_rows = [], {}
    stem = "fair_representation_quick" if args.quick else "fair_representation"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        table = pd.read_csv(RESULTS / f"{stem}.csv")
        for name in table.dataset.unique():
            n_rows[name] = 4000 if name == "synthetic" else len(real(name)["sensitive"])
        text = markdown(table, args, n_rows)
        (RESULTS / f"{stem}.md").write_text(text + "\n")
        print(text)
        return
    for name in args.datasets:
        data = synthetic(4000, 0) if name == "synthetic" else real(name)
        n_rows[name] = len(data["sensitive"])
        run_dataset(name, data, args, rows)
        table = pd.DataFrame(rows)  # written after every data set, so a long run keeps what it finished
        table.to_csv(RESULTS / f"{stem}.csv", index=False)
        text = markdown(table, args, n_rows)
        (RESULTS / f"{stem}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
