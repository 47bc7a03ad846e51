"""store=: the slot-ordered rows in a memory-mapped file, the same model as in memory, forgotten rows gone from disk."""

import gc
import os
import pickle
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skunlearn import NoisyLogisticRegression


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _store_files(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith("skunlearn-slots-"))


def test_disk_store_gives_the_same_model_and_certificate_bit_for_bit(digits, tmp_path):
    X, y = digits
    memory = NoisyLogisticRegression(max_iter=4, random_state=0).fit(X, y).unlearn([3, 500])
    disk = NoisyLogisticRegression(max_iter=4, random_state=0, store=tmp_path).fit(X, y).unlearn([3, 500])
    assert isinstance(disk._X_slots, np.memmap) and len(_store_files(tmp_path)) == 1
    np.testing.assert_array_equal(disk.coef_, memory.coef_)
    np.testing.assert_array_equal(disk.intercept_, memory.intercept_)
    assert disk.certificate_ == memory.certificate_


def test_a_forgotten_row_is_gone_from_the_file_when_the_request_returns(digits, tmp_path):
    X, y = digits
    model = NoisyLogisticRegression(max_iter=2, random_state=0, store=tmp_path).fit(X, y)
    (name,) = _store_files(tmp_path)
    path = tmp_path / name
    stored = np.asarray(model._X_slots[model._slot_of[7]]).copy()
    assert stored.tobytes() in path.read_bytes()  # the retained row is in the file
    model.unlearn([7])
    data = path.read_bytes()
    assert stored.tobytes() not in data and stored[:16].tobytes() not in data
    assert not np.any(model._X_slots[model._slot_of[7]])


def test_a_disk_store_refuses_to_pickle_and_its_file_goes_with_the_model(digits, tmp_path):
    X, y = digits
    model = NoisyLogisticRegression(max_iter=2, random_state=0, store=tmp_path).fit(X, y)
    with pytest.raises(TypeError, match="export"):
        pickle.dumps(model)
    assert pickle.loads(pickle.dumps(model.export())).predict(X[:5]).shape == (5,)
    model.fit(X, y)  # a refit: a new file, the old one removed once nothing refers to it
    gc.collect()
    assert len(_store_files(tmp_path)) == 1
    del model
    gc.collect()
    assert _store_files(tmp_path) == []


def test_sparse_data_with_a_store_is_refused(digits, tmp_path):
    import scipy.sparse as sp

    X, y = digits
    with pytest.raises(ValueError, match="sparse"):
        NoisyLogisticRegression(max_iter=1, store=tmp_path).fit(sp.csr_array(X), y)


def test_a_zarr_x_is_read_a_block_at_a_time_and_gives_the_same_model(digits, tmp_path, monkeypatch):
    zarr = pytest.importorskip("zarr")
    from skunlearn import _state

    X, y = digits
    on_disk = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=X.shape, chunks=(100, X.shape[1]),
                                dtype=X.dtype)
    on_disk[:] = X
    monkeypatch.setattr(_state, "_BLOCK_READ_BYTES", 300 * X.shape[1] * X.itemsize)  # three chunks a block
    reads = []
    read = type(on_disk).__getitem__
    monkeypatch.setattr(type(on_disk), "__getitem__", lambda array, key: reads.append(key) or read(array, key))
    memory = NoisyLogisticRegression(max_iter=4, random_state=0).fit(X, y).unlearn([3, 500])
    streamed = NoisyLogisticRegression(max_iter=4, random_state=0, store=tmp_path).fit(on_disk, y).unlearn([3, 500])
    np.testing.assert_array_equal(streamed.coef_, memory.coef_)
    assert streamed.certificate_ == memory.certificate_ and streamed.n_features_in_ == X.shape[1]
    assert reads and all(isinstance(key, slice) and key.stop - key.start <= 300 for key in reads)


def test_a_zarr_x_with_a_nan_is_refused_with_its_rows(digits, tmp_path):
    zarr = pytest.importorskip("zarr")
    X, y = digits
    bad = X.copy()
    bad[1234, 5] = np.nan
    on_disk = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=X.shape, chunks=(500, X.shape[1]),
                                dtype=X.dtype)
    on_disk[:] = bad
    model = NoisyLogisticRegression(max_iter=2)
    with pytest.raises(ValueError, match=r"NaN or infinity \(in rows \d+ to \d+\)") as raised:
        model.fit(on_disk, y)
    first, last = map(int, re.findall(r"\d+", str(raised.value)))
    assert first <= 1234 <= last and not hasattr(model, "coef_")


def test_a_zarr_x_and_a_y_of_another_length_are_refused(digits, tmp_path):
    zarr = pytest.importorskip("zarr")
    X, y = digits
    on_disk = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=X.shape, chunks=(500, X.shape[1]),
                                dtype=X.dtype)
    on_disk[:] = X
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NoisyLogisticRegression(max_iter=2).fit(on_disk, y[:-1])


def test_a_complex_zarr_x_is_refused(tmp_path):
    zarr = pytest.importorskip("zarr")
    on_disk = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=(10, 2), dtype="complex128")
    on_disk[:] = np.ones((10, 2)) + 1j
    with pytest.raises(ValueError, match="real numbers"):
        NoisyLogisticRegression().fit(on_disk, np.arange(10) % 2)
