"""Intersectional groups (issue 19): several sensitive columns make groups that are the tuples of the column
values, and every place that names a group names the tuple: group_table (a MultiIndex named after the
columns, as fairlearn's MetricFrame.by_group), the plots, the fitted attributes and the error messages."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection, WassersteinFairRegressor  # noqa: E402
from fairerm.exceptions import FairermValueError  # noqa: E402
from fairerm.metrics import equal_opportunity_difference, group_table  # noqa: E402
from fairerm.plotting import plot_group_rates, plot_group_score_distributions  # noqa: E402
from fairerm.regression import FairRidge  # noqa: E402

GROUPS = [("F", "x"), ("F", "y"), ("M", "x"), ("M", "y")]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["x", "y"], n)})
    X = rng.normal(size=(n, 3))
    X[:, 0] += (frame["sex"] == "F") + 0.5 * (frame["race"] == "y")
    y = np.where(X[:, 0] + rng.normal(size=n) > 0.7, 1, 0)
    return X, y, frame


def test_group_table_is_indexed_by_the_tuples_and_named_after_the_columns(data):
    X, y, frame = data
    pred = (X[:, 1] > 0).astype(int)
    table = group_table(y, pred, sensitive_features=frame)
    assert isinstance(table.index, pd.MultiIndex)
    assert list(table.index) == GROUPS
    assert list(table.index.names) == ["sex", "race"]
    for sex, race in GROUPS:  # each row is its tuple's own counts, computed here from the definition
        member = (frame["sex"] == sex).to_numpy() & (frame["race"] == race).to_numpy()
        assert table.loc[(sex, race), "count"] == member.sum()
        assert table.loc[(sex, race), "tpr"] == pytest.approx(pred[member & (y == 1)].mean())
    unnamed = group_table(y, pred, sensitive_features=frame.to_numpy())
    assert list(unnamed.index.names) == ["sensitive_feature_0", "sensitive_feature_1"]
    tprs = table["tpr"].to_numpy()
    assert equal_opportunity_difference(y, pred, sensitive_features=frame) == pytest.approx(tprs.max() - tprs.min())


def test_fitted_attributes_name_the_tuples(data):
    X, y, frame = data
    for model in (FairLinearSVC().fit(X, y, sensitive_features=frame),
                  FairKernelSVC(gamma=0.5).fit(X, y, sensitive_features=frame),
                  FairProjection().fit(X, y, sensitive_features=frame),
                  FairRidge().fit(X, X[:, 0], sensitive_features=frame),
                  WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, X[:, 0],
                                                                                   sensitive_features=frame)):
        assert [tuple(g) for g in model.groups_] == GROUPS, type(model).__name__
        assert all(isinstance(g, tuple) for g in model.groups_)
        assert model.sensitive_feature_names_ == ["sex", "race"]
        if hasattr(model, "constraint_labels_"):
            assert model.constraint_labels_[0].endswith("('F', 'x') - pooled")
    single = FairLinearSVC().fit(X, y, sensitive_features=frame["sex"])
    assert single.sensitive_feature_names_ is None and list(single.groups_) == ["F", "M"]


def test_errors_name_the_tuple_of_the_group(data):
    X, y, frame = data
    y = y.copy()
    y[((frame["sex"] == "M") & (frame["race"] == "y")).to_numpy()] = 0  # that group has no positive example
    with pytest.raises(FairermValueError, match=r"group\(s\) \[\('M', 'y'\)\] have no positive examples"):
        FairLinearSVC().fit(X, y, sensitive_features=frame)
    with pytest.raises(FairermValueError, match=r"undefined for sensitive_features group\(s\) \[\('M', 'y'\)\]"):
        equal_opportunity_difference(y, y, sensitive_features=frame)


def test_plots_label_the_tuples_and_title_the_legend_with_the_columns(data):
    X, y, frame = data
    pred = (X[:, 1] > 0).astype(int)
    ax = plot_group_rates(y, pred, sensitive_features=frame)
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "(sex, race)"
    counts = group_table(y, pred, sensitive_features=frame)["count"]
    assert [t.get_text() for t in legend.get_texts()] == [f"{g} (n={counts.loc[g]})" for g in GROUPS]
    ax = plot_group_score_distributions(X[:, 0], sensitive_features=frame)
    assert ax.get_legend().get_title().get_text() == "(sex, race)"
    assert ax.get_legend().get_texts()[0].get_text().startswith("('F', 'x') (n=")
    matplotlib.pyplot.close("all")
