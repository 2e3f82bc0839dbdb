"""Helpers shared by both bound methods: the notion's strata, labels, the feature scale, the (F) columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_binary_target
from ..constraints import DemographicParity, EqualizedOdds, EqualOpportunity, FairnessConstraint
from ..exceptions import FairermValueError
from ._model import ModelView
from ._terms import mean_embedding_deviation

RATE_GAP_NAMES = {"equal_opportunity": "DEO", "demographic_parity": "DDP", "equalized_odds": "equalized odds gap"}


def strata_of(constraint: FairnessConstraint, y_signed: np.ndarray) -> list[tuple[str, np.ndarray]]:
    if isinstance(constraint, EqualizedOdds):
        return [("y=+1", y_signed > 0), ("y=-1", y_signed < 0)]
    if isinstance(constraint, EqualOpportunity):
        return [("y=+1", y_signed > 0)]
    if isinstance(constraint, DemographicParity):
        return [("all", np.ones(y_signed.shape[0], dtype=bool))]
    raise FairermValueError(
        f"notion: the bounds know 'equal_opportunity', 'demographic_parity' and 'equalized_odds'; got "
        f"{constraint!r}."
    )


def signed_labels(y: Any, n: int, classes: np.ndarray) -> np.ndarray:
    target = check_binary_target(y, n)
    if not np.array_equal(np.asarray(target.classes), np.asarray(classes)):
        raise FairermValueError(
            f"y has classes {list(target.classes)!r} but the model was fitted on {list(classes)!r}; the sample must "
            "use the model's labels (both classes present)."
        )
    return target.signed


def feature_scale(view: ModelView, feature_bound: float | None) -> tuple[float, float, str]:
    """kappa >= sup ||phi(x)||, Delta >= sup ||phi(x) - phi(x')|| and where they come from."""
    sample_max = float(np.sqrt(np.max(view.sq_feature_norms)))
    if feature_bound is not None:
        if sample_max > feature_bound * (1 + 1e-9):
            raise FairermValueError(
                f"feature_bound={feature_bound!r} is violated by the sample: max_i ||phi(x_i)|| = {sample_max:.6g}. "
                "It must bound the feature norm of every point the distribution can produce."
            )
        return float(feature_bound), 2.0 * float(feature_bound), "given"
    if view.exact_feature_bound is not None:
        return view.exact_feature_bound, view.exact_feature_diameter, "exact"
    return sample_max, 2.0 * sample_max, "estimated"


def score_gap_columns(view: ModelView, idx: np.ndarray, kappa: float, diameter: float, delta_score: float) -> dict:
    """(F) for one cell: its mean score and ||w|| times the bound D_g on its mean-embedding error."""
    expectation, confidence = mean_embedding_deviation(idx.size, kappa, diameter, delta_score)
    return {"mean_score": float(view.scores[idx].mean()), "mean_deviation": expectation + confidence,
            "score_slack": view.weight_norm * (expectation + confidence)}


def cell_indices(strata, sens) -> list:
    """(stratum, group, sample rows) of every cell; a group without examples in a compared cell is refused."""
    out = []
    for stratum, mask in strata:
        for g, group in enumerate(sens.groups):
            idx = np.flatnonzero(mask & (sens.codes == g))
            if idx.size == 0:
                raise FairermValueError(
                    f"sensitive_features: group {group!r} has no examples with {stratum}; the fairness bounds need "
                    "every group in every compared cell."
                )
            out.append((stratum, group, idx))
    return out


def score_gaps(cells) -> tuple[float, float]:
    """Largest empirical mean-score gap and its bound (F), over strata and ordered pairs of groups."""
    emp = bound = 0.0
    for _, block in cells.groupby("stratum", sort=False):
        m, slack = block["mean_score"].to_numpy(), block["score_slack"].to_numpy()
        pair = np.abs(m[:, None] - m[None, :]) + slack[:, None] + slack[None, :]
        off = ~np.eye(len(m), dtype=bool)
        emp = max(emp, float(m.max() - m.min()))
        bound = max(bound, float(pair[off].max()))
    return emp, bound


def rate_gaps(cells) -> tuple[float, float]:
    """Largest empirical rate gap of h and its bound (largest upper minus smallest lower, per stratum)."""
    emp = bound = 0.0
    for _, block in cells.groupby("stratum", sort=False):
        rate = block["rate"].to_numpy()
        upper, lower = block["rate_upper_bound"].to_numpy(), block["rate_lower_bound"].to_numpy()
        pair = upper[:, None] - lower[None, :]
        off = ~np.eye(len(rate), dtype=bool)
        emp = max(emp, float(rate.max() - rate.min()))
        bound = max(bound, float(pair[off].max()))
    return emp, min(bound, 1.0)
