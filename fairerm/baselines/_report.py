"""Tables, checks and scatter plots of the FERM reproduction (:func:`~fairerm.baselines.run_reproduction`).

The reference numbers are those of the FERM authors' published code (``docs/reproduction.rst``,
"The authors' reference numbers"): Adult, sensitive attribute sex, one run on their own split;
the RBF models trained on 1/20 of the rows. Nothing else is quoted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["REFERENCES", "RANDOMISED_KEYS", "target_checks", "add_references", "ferm_checks", "markdown_table",
           "plot_scatter", "total_warnings", "write_outputs"]

#: (dataset, our row) -> (accuracy, DEO, what the authors ran)
REFERENCES: dict[tuple[str, str], tuple[float, float, str]] = {
    ("adult", "Naive linear SVM"): (0.8084, 0.1090, "linear SVM, C = 0.1"),
    ("adult", "Linear FERM (eps=0)"): (0.7957, 0.0331, "linear FERM, C = 0.01"),
    ("adult", "Naive RBF SVM"): (0.8322, 0.2203, "RBF SVM, C = 10, gamma = 0.01, 1/20 of the rows"),
    ("adult", "RBF FERM (eps=0)"): (0.8315, 0.1243, "RBF FERM, C = 1, gamma = 0.1, 1/20 of the rows"),
}

KEPT_MARKER = "<!-- hand-written analysis below: kept when the table is regenerated -->"


def add_references(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``ref_accuracy``, ``ref_deo`` and ``ref_setting`` columns (NaN / empty where none)."""
    table = table.copy()
    refs = [REFERENCES.get((d, m)) for d, m in zip(table["dataset"], table["method"])]
    table["ref_accuracy"] = [r[0] if r else np.nan for r in refs]
    table["ref_deo"] = [r[1] if r else np.nan for r in refs]
    table["ref_setting"] = [r[2] if r else "" for r in refs]
    return table


FAILED_BASELINES = "every baseline failed"


def _number(value: float, spec: str = ".3f") -> str:
    return format(value, spec) if np.isfinite(value) else "failed"


def _pm(mean: float, std: float) -> str:
    return "failed" if not np.isfinite(mean) else f"{mean:.3f} ± {std:.3f}"


def markdown_table(table: pd.DataFrame) -> str:
    """One Markdown table: accuracy and DEO (mean ± std), fit time, choices, references."""
    lines = ["| data set | method | accuracy | DEO | DDP | fit (s) | runs | train rows | selected (C, gamma, ...) "
             "| reference acc. / DEO |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples(index=False):
        name = f"**{row.method}**" if row.ours else row.method
        ref = f"{row.ref_accuracy:.4f} / {row.ref_deo:.4f}" if np.isfinite(row.ref_accuracy) else ""
        lines.append(
            f"| {row.dataset} | {name} | {_pm(row.accuracy_mean, row.accuracy_std)} | {_pm(row.deo_mean, row.deo_std)} "
            f"| {_number(row.ddp_mean)} | {_number(row.fit_seconds, '.2f')} | {row.n_runs} | {row.n_train:.0f} "
            f"| {row.selected_params} | {ref} |"
        )
    return "\n".join(lines)


def ferm_checks(table: pd.DataFrame, accuracy_margin: float = 0.02) -> pd.DataFrame:
    """For every FERM row: its accuracy gap to the best baseline and the baselines with a lower DEO.

    ``accuracy_ok``: FERM's test accuracy is at least the best baseline's minus ``accuracy_margin``;
    ``deo_ok``: FERM's mean test DEO is at most every baseline's. Only the baselines with a test accuracy
    count; where every baseline of a data set failed, its FERM rows are reported against none
    (``best_baseline`` "every baseline failed", NaN numbers, both checks False: nothing was verified).
    """
    checks = []
    for dataset, part in table.groupby("dataset", sort=False):
        baselines = part[~part["ours"]]
        if baselines.empty:  # a run of our rows only (--methods): nothing to check against
            continue
        baselines = baselines[np.isfinite(baselines["accuracy_mean"].astype(float))]
        if baselines.empty:
            for row in part[part["ours"]].itertuples(index=False):
                checks.append(dict(dataset=dataset, method=row.method, accuracy=row.accuracy_mean, deo=row.deo_mean,
                                   best_baseline=FAILED_BASELINES, best_baseline_accuracy=np.nan,
                                   accuracy_gap=np.nan, accuracy_ok=False, deo_ok=False, lower_deo_baselines=""))
            continue
        best = baselines.loc[baselines["accuracy_mean"].idxmax()]
        for row in part[part["ours"]].itertuples(index=False):
            lower = baselines[baselines["deo_mean"] < row.deo_mean]
            checks.append(dict(
                dataset=dataset, method=row.method, accuracy=row.accuracy_mean, deo=row.deo_mean,
                best_baseline=best["method"], best_baseline_accuracy=best["accuracy_mean"],
                accuracy_gap=best["accuracy_mean"] - row.accuracy_mean,
                accuracy_ok=bool(row.accuracy_mean >= best["accuracy_mean"] - accuracy_margin),
                deo_ok=lower.empty,
                lower_deo_baselines="; ".join(f"{m} ({d:.3f}, acc. {a:.3f})" for m, d, a in
                                              zip(lower["method"], lower["deo_mean"], lower["accuracy_mean"])),
            ))
    return pd.DataFrame(checks)


def _checks_markdown(checks: pd.DataFrame) -> str:
    lines = ["| data set | FERM row | accuracy | DEO | best baseline (accuracy) | gap | within 2 pts | DEO <= all "
             "baselines | baselines with a lower DEO (DEO, accuracy) |", "|---|---|---|---|---|---|---|---|---|"]
    for c in checks.itertuples(index=False):
        checked = c.best_baseline != FAILED_BASELINES
        lines.append(f"| {c.dataset} | {c.method} | {_number(c.accuracy)} | {_number(c.deo)} | {c.best_baseline} "
                     f"({_number(c.best_baseline_accuracy)}) | {_number(c.accuracy_gap, '+.3f')} "
                     f"| {('yes' if c.accuracy_ok else 'no') if checked else '-'} "
                     f"| {('yes' if c.deo_ok else 'no') if checked else '-'} | {c.lower_deo_baselines or '-'} |")
    return "\n".join(lines)


def plot_scatter(table: pd.DataFrame, dataset: str, path: Path, title_note: str = "") -> None:
    """Test accuracy against test DEO (mean ± std over splits) of every method on ``dataset``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    part = table[table["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(part), 2)))
    for colour, row in zip(colours, part.itertuples(index=False)):
        if not np.isfinite(row.accuracy_mean):
            continue
        marker = "*" if row.ours else ("o" if row.family == "linear" else "s")
        ax.errorbar(row.deo_mean, row.accuracy_mean, xerr=row.deo_std, yerr=row.accuracy_std, fmt=marker,
                    color=colour, markersize=14 if row.ours else 8, capsize=3, label=row.method,
                    markeredgecolor="black" if row.ours else colour, elinewidth=0.8, alpha=0.9)
    for row in part.itertuples(index=False):
        if np.isfinite(row.ref_accuracy):
            ax.plot(row.ref_deo, row.ref_accuracy, "x", color="grey", markersize=9)
            ax.annotate(f"authors: {row.method}", (row.ref_deo, row.ref_accuracy), fontsize=7, color="grey",
                        xytext=(-4, -11), textcoords="offset points", ha="right")
    ax.margins(x=0.08, y=0.08)
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
    ax.set_xlabel("test DEO = |TPR(group a) - TPR(group b)|  (lower is fairer)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{dataset}: accuracy vs equal-opportunity gap{title_note}")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5),
                  title="* FERM (ours), o linear, s kernel; x authors' code", title_fontsize=7)
    else:  # every row of the data set failed (its failures are in the Markdown file)
        ax.text(0.5, 0.5, "every method failed: no test score to plot", transform=ax.transAxes, ha="center",
                va="center", color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def total_warnings(text: str) -> str:
    """Add up per-run warning counts: ``"A x1; B x2 | A x3"`` becomes ``"A x4; B x2"``."""
    totals: dict[str, int] = {}
    for item in re.split(r"\s*[;|]\s*", text or ""):
        match = re.fullmatch(r"(.+) x(\d+)", item.strip())
        if match:
            totals[match.group(1)] = totals.get(match.group(1), 0) + int(match.group(2))
    return "; ".join(f"{name} x{count}" for name, count in sorted(totals.items()))


def _kept_analysis(path: Path) -> str:
    if not path.exists():
        return ""
    text = path.read_text()
    return text[text.index(KEPT_MARKER) + len(KEPT_MARKER):] if KEPT_MARKER in text else ""


def _commands(table: pd.DataFrame) -> list[str]:
    if "command" not in table.columns:
        return []
    lines = []
    for (command, minutes), part in table.groupby(["command", "run_minutes"], sort=False, dropna=False):
        if isinstance(command, str) and command:
            took = f"{float(minutes):.1f} min" if str(minutes) not in ("", "nan") else "time not recorded"
            lines.append(f"- `{command}` ({', '.join(part['dataset'].unique())}; {took} on 2 shared cores)")
    return lines


def _protocol(config, table: pd.DataFrame) -> str:
    commands = _commands(table)
    return "\n".join([
        "Produced by:" if commands else "", *commands,
        "",
        "Protocol: " + _splits_text(config, table) + ". "
        f"Hyperparameters by {config.cv_folds}-fold stratified cross-validation inside the training "
        "part; the preprocessor (one-hot, standardisation) fitted on training folds only; the sensitive attribute "
        "sliced with the same fold indices. *Naive* rows: best validation accuracy. Every other row: the smallest "
        f"validation DEO among the candidates within {config.accuracy_tolerance:.2f} of the best validation "
        f"accuracy. Kernel methods train on at most {config.kernel_max_train} random training rows in this run "
        "(--kernel-max-train; rows kept from other runs by --append carry their own in the column *train rows*)"
        + (f"; every method on at most {config.max_train}" if config.max_train else "")
        + ". DEO = |TPR_a - TPR_b| on the test part, positive class 1 (Adult: income > 50K; COMPAS: two-year "
        "recidivism; German: good credit). Bold rows are ours. Reference: the FERM authors' published code "
        "(docs/reproduction.rst; their own split, RBF models on 1/20 of Adult). The column *runs* is each row's "
        "number of splits: a table assembled with --append may hold rows of earlier runs with fewer splits (their "
        "commands are listed above); paired comparisons use the splits two rows share.",
    ])


_SENSITIVE = {"adult": "sex", "compas": "race: African-American vs Caucasian", "german": "sex"}


def _splits_text(config, table: pd.DataFrame) -> str:
    """``Adult (sex): the official train / test files, one run (std 0); COMPAS (...): 10 random ...``."""
    parts = []
    for dataset in [d for d in table["dataset"].unique() if d in config.split_plans]:
        plan = config.split_plans[dataset]
        runs = int(plan.official) + plan.n_random
        spread = "one run (std 0)" if runs == 1 else "mean ± std"
        parts.append(f"{dataset.capitalize() if dataset != 'compas' else 'COMPAS'} ({_SENSITIVE.get(dataset, '')}): "
                     f"{plan.describe()}, {spread}")
    return "; ".join(parts)


def _paired_section(runs: pd.DataFrame | None) -> list[str]:
    """Markdown lines: FERM rows minus each baseline, split by split, where a data set has >= 2 splits."""
    if runs is None or runs.empty:
        return []
    from ._protocol import paired_differences

    paired = paired_differences(runs)
    paired = paired[paired["n_pairs"] >= 2] if not paired.empty else paired
    if paired.empty:
        return []
    lines = ["## Paired comparisons (computed from the per-split records)", "",
             "Each FERM row minus each baseline on the same splits: mean difference and 95% Student interval "
             "(a DEO difference below 0: FERM fairer; an accuracy difference below 0: FERM less accurate).", "",
             "| data set | FERM row | baseline | splits | accuracy difference | DEO difference |",
             "|---|---|---|---|---|---|"]
    for r in paired.itertuples(index=False):
        lines.append(f"| {r.dataset} | {r.ours} | {r.baseline} | {r.n_pairs} "
                     f"| {r.accuracy_diff:+.3f} [{r.accuracy_low:+.3f}, {r.accuracy_high:+.3f}] "
                     f"| {r.deo_diff:+.3f} [{r.deo_low:+.3f}, {r.deo_high:+.3f}] |")
    return [*lines, ""]


#: The baselines whose predictions are randomised (Hardt et al.'s thresholds, exponentiated gradient's mixture).
RANDOMISED_KEYS = ("hardt_linear", "hardt_rbf", "expgrad_logistic", "expgrad_svm")


def target_checks(table: pd.DataFrame, runs: pd.DataFrame | None, accuracy_margin: float = 0.005) -> pd.DataFrame:
    """Issue 21's target for every FERM row: DEO within the paired interval of the best randomised baseline's.

    Only the baselines evaluated on the same splits as the FERM row count (a table assembled with
    ``--append`` may hold rows of earlier runs with fewer splits). The best randomised baseline is the one
    of :data:`RANDOMISED_KEYS` with the smallest mean test DEO;
    ``deo_ok``: the 95% paired interval of FERM's DEO minus its DEO reaches 0 or below (no evidence that
    FERM is less fair); ``accuracy_ok``: FERM's mean accuracy is at least the best baseline's minus
    ``accuracy_margin``.
    """
    if runs is None or runs.empty or "key" not in runs.columns:
        return pd.DataFrame()
    from ._protocol import paired_differences

    paired = paired_differences(runs)
    out = []
    for dataset, part in table.groupby("dataset", sort=False):
        keys = runs[runs["dataset"] == dataset].groupby("method")["key"].first()
        for row in part[part["ours"]].itertuples(index=False):
            # only the baselines evaluated on the same splits as this row (at least two shared splits)
            shared = paired[(paired["dataset"] == dataset) & (paired["ours"] == row.method) & (paired["n_pairs"] >= 2)
                            & (paired["n_pairs"] == row.n_runs)]
            baselines = part[part["method"].isin(shared["baseline"]) & (part["n_runs"] == row.n_runs)]
            randomised = baselines[baselines["method"].map(keys).isin(RANDOMISED_KEYS)]
            if randomised.empty:
                continue
            best_fair = randomised.loc[randomised["deo_mean"].idxmin()]
            best_acc = baselines.loc[baselines["accuracy_mean"].idxmax()]
            pair = shared[shared["baseline"] == best_fair["method"]].iloc[0]
            out.append(dict(dataset=dataset, method=row.method, accuracy=row.accuracy_mean, deo=row.deo_mean,
                            randomised=best_fair["method"], randomised_deo=best_fair["deo_mean"],
                            n_pairs=int(pair["n_pairs"]), deo_diff=pair["deo_diff"], deo_low=pair["deo_low"],
                            deo_high=pair["deo_high"], deo_ok=bool(pair["deo_low"] <= 0.0),
                            best=best_acc["method"], best_accuracy=best_acc["accuracy_mean"],
                            accuracy_ok=bool(row.accuracy_mean >= best_acc["accuracy_mean"] - accuracy_margin)))
    return pd.DataFrame(out)


def _target_section(table: pd.DataFrame, runs: pd.DataFrame | None) -> list[str]:
    checks = target_checks(table, runs)
    if checks.empty:
        return []
    lines = ["## Target: the best randomised baseline's DEO, deterministically (paired, computed from the runs)", "",
             "For each FERM row (deterministic, no sensitive attribute at predict time): the randomised baseline "
             "(Hardt et al., exponentiated gradient) with the smallest mean DEO, the 95% paired interval of FERM's "
             "DEO minus its DEO (reached: the interval reaches 0 or below), and FERM's accuracy against the most "
             "accurate baseline (reached: within 0.5 point).", "",
             "| data set | FERM row | accuracy | DEO | best randomised (DEO) | splits | DEO difference | DEO reached "
             "| most accurate baseline (accuracy) | accuracy reached |", "|---|---|---|---|---|---|---|---|---|---|"]
    for c in checks.itertuples(index=False):
        lines.append(f"| {c.dataset} | {c.method} | {c.accuracy:.3f} | {c.deo:.3f} | {c.randomised} "
                     f"({c.randomised_deo:.3f}) | {c.n_pairs} "
                     f"| {c.deo_diff:+.3f} [{c.deo_low:+.3f}, {c.deo_high:+.3f}] "
                     f"| {'yes' if c.deo_ok else 'no'} | {c.best} ({c.best_accuracy:.3f}) "
                     f"| {'yes' if c.accuracy_ok else 'no'} |")
    return [*lines, ""]


def write_outputs(table: pd.DataFrame, config, runs: pd.DataFrame | None = None) -> dict[str, Any]:
    """Write ``ferm_table[_quick].csv``/``.md``, ``ferm_scatter_<dataset>[_quick].png`` and, when the
    per-split records ``runs`` are given, ``ferm_runs[_quick].csv`` (what paired comparisons need)."""
    suffix = "_quick" if config.quick else ""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = add_references(table)
    text_columns = [c for c in ("warnings", "failures", "selected_params", "command") if c in table.columns]
    table[text_columns] = table[text_columns].fillna("").astype(str)
    csv_path, md_path = out / f"ferm_table{suffix}.csv", out / f"ferm_table{suffix}.md"
    table.to_csv(csv_path, index=False, float_format="%.6g")
    checks = ferm_checks(table)
    body = markdown_table(table)
    pngs = []
    for dataset in table["dataset"].unique():
        png = out / f"ferm_scatter_{dataset}{suffix}.png"
        plot_scatter(table, dataset, png, " (quick run)" if config.quick else "")
        pngs.append(png)
    warnings_lines = [f"- {r.dataset}, {r.method}: {total_warnings(r.warnings)}"
                      + (f"; failures: {r.failures}" if r.failures else "")
                      for r in table.itertuples(index=False) if r.warnings or r.failures]
    text = "\n".join([
        "# FERM (Donini et al. 2018) against baselines: accuracy and equal opportunity"
        + (" (quick run)" if suffix else ""),
        "", _protocol(config, table), "", body, "",
        "## Checks (computed from the table)", "",
        "FERM should reach a DEO at or below every baseline's with an accuracy within 2 points of the best baseline.",
        "", _checks_markdown(checks), "",
        *_target_section(table, runs),
        *_paired_section(runs),
        "## Warnings raised during the runs", "",
        *(warnings_lines or ["none"]), "",
        KEPT_MARKER,
    ]) + _kept_analysis(md_path)
    md_path.write_text(text if text.endswith("\n") else text + "\n")
    paths: dict[str, Any] = dict(markdown_table=body, csv=csv_path, markdown=md_path, png=pngs)
    if runs is not None:
        paths["runs"] = out / f"ferm_runs{suffix}.csv"
        runs.to_csv(paths["runs"], index=False, float_format="%.6g")
    return paths
