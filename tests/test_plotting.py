"""fairerm.plotting: the artists drawn match the data, recomputed here with numpy."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fairerm import FairLinearSVC, fair_path  # noqa: E402
from fairerm.datasets import make_synthetic  # noqa: E402
from fairerm.exceptions import FairermTypeError, FairermValueError, FairermWarning  # noqa: E402
from fairerm.plotting import (  # noqa: E402
    ParetoFrontDisplay,
    pareto_mask,
    plot_group_rates,
    plot_group_score_distributions,
    plot_pareto_front,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _brute_force_front(acc, unf):
    keep = []
    for i in range(len(acc)):
        dominated = any(acc[j] >= acc[i] and unf[j] <= unf[i] and (acc[j] > acc[i] or unf[j] < unf[i])
                        for j in range(len(acc)))
        keep.append(not dominated)
    return np.array(keep)


@pytest.fixture(scope="module")
def path():
    train = make_synthetic(300, bias=1.5, include_sensitive=False, random_state=0)
    test = make_synthetic(300, bias=1.5, include_sensitive=False, random_state=1)
    return fair_path(FairLinearSVC(C=1.0), train.data, train.target, sensitive_features=train.sensitive,
                     epsilons=[0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0], X_test=test.data, y_test=test.target,
                     sensitive_features_test=test.sensitive)


@pytest.mark.parametrize("seed", range(5))
def test_pareto_mask_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, 6, size=30) / 5  # ties on purpose
    unf = rng.integers(0, 6, size=30) / 5
    np.testing.assert_array_equal(pareto_mask(acc, unf), _brute_force_front(acc, unf))


def test_pareto_front_points_labels_and_legend(path):
    results = path.results
    ax = plot_pareto_front(path, reference_points={"SVM": (0.3, 0.8), "baseline": (0.05, 0.7)})
    scatter = ax.collections[0]
    offsets = np.asarray(scatter.get_offsets())
    assert offsets.shape == (len(results), 2)
    np.testing.assert_allclose(offsets[:, 0], results["test_deo"])
    np.testing.assert_allclose(offsets[:, 1], results["test_accuracy"])
    np.testing.assert_allclose(np.asarray(scatter.get_array()), results["epsilon"])  # colour = epsilon
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["epsilon path", "Pareto front", "SVM", "baseline"]
    assert "DEO" in ax.get_xlabel() and "test" in ax.get_xlabel()
    assert "accuracy" in ax.get_ylabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["SVM"].get_xydata().tolist() == [[0.3, 0.8]]
    assert lines["baseline"].get_xydata().tolist() == [[0.05, 0.7]]
    assert lines["SVM"].get_marker() != lines["baseline"].get_marker()
    assert any(axis.get_ylabel() == "epsilon" for axis in ax.figure.axes)  # the colour bar


def test_pareto_front_line_goes_through_front_points(path):
    results = path.results
    display = ParetoFrontDisplay.from_path(path)
    acc, unf = results["test_accuracy"].to_numpy(), results["test_deo"].to_numpy()
    front = _brute_force_front(acc, unf)
    np.testing.assert_array_equal(display.on_front_, front)
    xy = display.front_line_.get_xydata()
    assert display.front_line_.get_drawstyle() == "steps-post"
    assert np.all(np.diff(xy[:, 0]) >= 0) and np.all(np.diff(xy[:, 1]) >= -1e-12)  # a staircase
    assert set(map(tuple, np.c_[unf[front], acc[front]])) <= set(map(tuple, xy))
    assert xy[-1, 0] == pytest.approx(unf.max())
    assert display.ax_ is display.figure_.axes[0]


def test_pareto_front_ddp_and_given_axes(path):
    fig, ax = plt.subplots()
    returned = plot_pareto_front(path, fairness="ddp", split="train", ax=ax)
    assert returned is ax
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 0], path.results["train_ddp"])
    assert "DDP" in ax.get_xlabel() and "train" in ax.get_xlabel()


def test_pareto_front_without_test_split_warns_and_uses_train(path):
    frame = path.results[[c for c in path.results if not c.startswith("test_")]]
    with pytest.warns(FairermWarning, match="no test columns"):
        ax = plot_pareto_front(frame)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], frame["train_accuracy"])


def test_pareto_front_errors(path):
    with pytest.raises(FairermTypeError, match="FairPath"):
        plot_pareto_front([1, 2, 3])
    with pytest.raises(FairermValueError, match="fairness"):
        plot_pareto_front(path, fairness="eod")
    with pytest.raises(FairermValueError, match=r"reference_points\['x'\]"):
        plot_pareto_front(path, reference_points={"x": (0.1,)})
    with pytest.raises(FairermTypeError, match="reference_points"):
        plot_pareto_front(path, reference_points=[(0.1, 0.2)])
    with pytest.raises(FairermValueError, match="epsilon"):
        plot_pareto_front(pd.DataFrame({"test_accuracy": [0.5]}))


def _groups(n, seed):
    rng = np.random.default_rng(seed)
    s = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    scores = rng.normal(size=n) + (s == "b")
    return scores, s


def test_group_score_histograms_are_densities_per_group():
    scores, s = _groups(400, 0)
    ax = plot_group_score_distributions(scores, sensitive_features=s, bins=20, threshold=0.0)
    patches = [p for p in ax.patches]
    assert len(patches) == 3
    edges = np.histogram_bin_edges(scores, bins=20)
    for patch, group in zip(patches, ["a", "b", "c"]):
        expected, _ = np.histogram(scores[s == group], bins=edges, density=True)
        vertices = patch.get_xy()
        # the step outline visits each bin's height: compare the distinct tops
        tops = [vertices[k, 1] for k in range(1, 2 * len(expected), 2)]
        np.testing.assert_allclose(tops, expected, atol=1e-12)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    counts = {g: int(np.sum(s == g)) for g in "abc"}
    assert labels[:3] == [f"{g} (n={counts[g]})" for g in "abc"]
    assert labels[3] == "threshold 0"


def test_group_score_ecdfs():
    scores, s = _groups(200, 1)
    ax = plot_group_score_distributions(pd.Series(scores), sensitive_features=pd.Series(s), kind="ecdf")
    lines = ax.get_lines()
    assert len(lines) == 3
    for line, group in zip(lines, "abc"):
        x, y = line.get_xdata(), line.get_ydata()
        member = scores[s == group]
        np.testing.assert_allclose(x, np.sort(member))
        np.testing.assert_allclose(y, [np.mean(member <= v) for v in np.sort(member)])
    assert ax.get_ylabel() == "empirical CDF"


def test_group_score_errors():
    with pytest.raises(FairermValueError, match="sensitive_features has 3 entries"):
        plot_group_score_distributions([0.1, 0.2], sensitive_features=["a", "b", "a"])
    with pytest.raises(FairermValueError, match="NaN"):
        plot_group_score_distributions([0.1, np.nan], sensitive_features=["a", "b"])
    with pytest.raises(FairermValueError, match="kind"):
        plot_group_score_distributions([0.1, 0.2], sensitive_features=["a", "b"], kind="kde")
    with pytest.raises(FairermValueError, match="bins"):
        plot_group_score_distributions([0.1, 0.2], sensitive_features=["a", "b"], bins=0)


def test_group_rates_bars_match_numpy_rates():
    rng = np.random.default_rng(3)
    n = 300
    s = rng.choice(["f", "m"], size=n)
    y = rng.integers(0, 2, size=n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y) * (rng.random(n) < np.where(s == "m", 1.0, 0.7))
    ax = plot_group_rates(y, pred, sensitive_features=s)
    assert len(ax.containers) == 2
    for container, group in zip(ax.containers, ["f", "m"]):
        g = s == group
        expected = [np.mean(pred[g & (y == 1)] == 1), np.mean(pred[g & (y == 0)] == 1), np.mean(pred[g] == 1)]
        np.testing.assert_allclose([bar.get_height() for bar in container], expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["true-positive rate", "false-positive rate",
                                                           "selection rate"]
    tpr_gap = abs(np.mean(pred[(s == "f") & (y == 1)]) - np.mean(pred[(s == "m") & (y == 1)]))
    assert f"tpr gap {tpr_gap:.3f}" in ax.get_title()
    with pytest.raises(FairermValueError, match="rates"):
        plot_group_rates(y, pred, sensitive_features=s, rates=("auc",))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=25))
def test_pareto_front_properties(points):
    acc, unf = np.array(points).T
    front = pareto_mask(acc, unf)
    assert front.any()  # the most accurate of the fairest points is never dominated
    for i in np.flatnonzero(~front):  # every other point is dominated by a point on the front
        assert np.any(front & (acc >= acc[i]) & (unf <= unf[i]) & ((acc > acc[i]) | (unf < unf[i])))
    np.testing.assert_array_equal(front, _brute_force_front(acc, unf))
