"""IDX reading, dataset look-up, verified download and sequence views."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest
import torch

from rnnviz import data
from rnnviz.data import DataError

from .conftest import MNIST_DIR, write_dataset, write_idx


def test_reads_real_mnist_subset():
    train, test = data.load_dir(MNIST_DIR)
    assert train.images.shape == (8000, 28, 28) and test.images.shape == (2000, 28, 28)
    assert train.labels.shape == (8000,) and set(np.unique(train.labels)) == set(range(10))


def test_raw_and_gzip_files_read_the_same(tmp_path):
    a = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    assert np.array_equal(
        data.read_idx(write_idx(tmp_path / "a.gz", a)), data.read_idx(write_idx(tmp_path / "a", a, False))
    )


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "too short"),
        (b"\x00\x00\x0d\x03" + b"\x00" * 20, "bad magic number"),
        (b"PK\x03\x04 zip file", "bad magic number"),
        (
            gzip.compress(b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c" + b"\x00" * 100),
            "truncated or corrupt",
        ),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05")[:-6], "corrupt or truncated gzip"),
    ],
)
def test_bad_idx_files_name_the_file_and_the_fault(tmp_path, payload, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=message) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_mismatched_counts_and_wrong_image_size_are_refused(tmp_path):
    d = write_dataset(tmp_path / "d")
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.zeros(31))
    with pytest.raises(DataError, match="32 images but 31 labels"):
        data.load_dir(d)
    write_dataset(d)
    write_idx(d / "train-images-idx3-ubyte.gz", np.zeros((64, 14, 14)))
    with pytest.raises(DataError, match="expected 28x28"):
        data.load_dir(d)


def test_empty_directory_names_the_missing_file(tmp_path):
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte.gz"):
        data.load_dir(tmp_path)


def test_lookup_order_env_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(tmp_path / "env"))
    assert data.locate("mnist") is None
    write_dataset(tmp_path / "cache" / "rnnviz" / "mnist")
    assert data.locate("mnist") == tmp_path / "cache" / "rnnviz" / "mnist"
    write_dataset(tmp_path / "env" / "mnist")
    assert data.locate("mnist") == tmp_path / "env" / "mnist"


def test_sequence_views_shapes_and_order():
    images = np.arange(2 * 784, dtype=np.int64).reshape(2, 28, 28) % 256
    rows = data.sequences(images.astype(np.uint8), 28)
    assert rows.shape == (2, 28, 28) and torch.equal(rows[0, 1], torch.tensor(images[0, 1], dtype=torch.uint8))
    assert data.sequences(images.astype(np.uint8), 112).shape == (2, 112, 7)
    pixels = data.sequences(images.astype(np.uint8), 784)
    assert pixels.shape == (2, 784, 1) and pixels[0, 30, 0] == images[0, 1, 2]
    x = data.to_float(rows)
    assert x.dtype == torch.float32 and 0.0 <= x.min() and x.max() <= 1.0


def test_permutation_is_fixed_by_seed_and_applied_to_pixels():
    assert np.array_equal(data.permutation(3), data.permutation(3))
    assert not np.array_equal(data.permutation(3), data.permutation(4))
    images = np.arange(784, dtype=np.int64).reshape(1, 28, 28) % 251
    perm = data.permutation(3)
    seq = data.sequences(images.astype(np.uint8), 784, perm)
    assert np.array_equal(seq[0, :, 0].numpy(), images.reshape(784)[perm])


class _Server:
    """A local HTTP mirror serving a directory; `broken` files are served with other content."""

    def __init__(self, directory, broken=(), cut=()):
        broken_set, cut_set = set(broken), set(cut)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                if self.path.strip("/") in cut_set:  # promise a whole file, send a little, hang up
                    self.send_response(200)
                    self.send_header("Content-Length", "5000")
                    self.end_headers()
                    self.wfile.write(b"\x1f\x8b" + b"\0" * 98)
                    self.close_connection = True
                elif self.path.strip("/") in broken_set:
                    body = b"not the file you want"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A fake 'mnist' whose checksums are those of a small local dataset."""
    src = write_dataset(tmp_path / "mirror")
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in src.iterdir()}
    monkeypatch.setitem(data.DATASETS, "mnist", {"mirrors": [], "md5": md5, "system_dirs": []})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNVIZ_DATA_DIR", raising=False)
    return src


def test_download_falls_back_to_the_next_mirror_and_verifies(mirror, tmp_path):
    good = _Server(mirror)
    try:
        dead = "http://127.0.0.1:9/"  # nothing listens on the discard port
        target = data.download("mnist", progress=False, mirrors=[dead, good.url])
    finally:
        good.close()
    assert target == tmp_path / "cache" / "rnnviz" / "mnist"
    train, test = data.load("mnist", progress=False)
    assert len(train.labels) == 64 and len(test.labels) == 32


def test_checksum_mismatch_leaves_no_file(mirror, tmp_path):
    bad = _Server(mirror, broken=["train-images-idx3-ubyte.gz"])
    try:
        with pytest.raises(DataError, match="checksum mismatch"):
            data.download("mnist", progress=False, mirrors=[bad.url])
    finally:
        bad.close()
    leftovers = sorted(p.name for p in (tmp_path / "cache" / "rnnviz" / "mnist").iterdir())
    assert "train-images-idx3-ubyte.gz" not in leftovers and not any(n.endswith(".part") for n in leftovers)


def test_offline_error_says_where_it_looked_and_what_to_do(mirror, tmp_path):
    with pytest.raises(DataError) as info:
        data.download("mnist", progress=False, mirrors=["http://127.0.0.1:9/"])
    text = str(info.value)
    assert str(tmp_path / "cache" / "rnnviz" / "mnist") in text and "--data-dir" in text


def test_load_without_download_refuses_with_instructions(mirror):
    with pytest.raises(DataError, match="not on this machine"):
        data.load("mnist", allow_download=False)


def test_download_cut_off_halfway_leaves_no_partial_file(mirror, tmp_path):
    cut = _Server(mirror, cut=["t10k-images-idx3-ubyte.gz"])
    try:
        with pytest.raises(DataError, match="could not download t10k-images-idx3-ubyte.gz(.|\n)*cut off after"):
            data.download("mnist", progress=False, mirrors=[cut.url])
    finally:
        cut.close()
    names = sorted(p.name for p in (tmp_path / "cache" / "rnnviz" / "mnist").iterdir())
    assert "t10k-images-idx3-ubyte.gz" not in names and not any(n.endswith(".part") for n in names)
    assert data.locate("mnist") is None  # the three good files alone are never used
