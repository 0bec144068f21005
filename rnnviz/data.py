"""MNIST-layout datasets: IDX reader, look-up and verified download, and sequence views."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import roles

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# MD5 of the gzip files as published; a download is used only when it matches.
DATASETS: dict[str, dict] = {
    "mnist": {
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        "md5": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "system_dirs": [],
    },
    "fashion-mnist": {
        "mirrors": [
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ],
        "md5": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        # Debian's dataset-fashion-mnist package installs here.
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],
    },
}


class DataError(RuntimeError):
    """Data that is missing or unusable; the message says which file and what to do."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnnviz"


def _open_maybe_gzip(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip file ({exc}); delete it and fetch it again") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip or raw) of unsigned bytes, checking its header against its size."""
    path = Path(path)
    try:
        data = _open_maybe_gzip(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    if len(data) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise DataError(
            f"{path}: bad magic number 0x{data[:4].hex()} (expected 0x00000801 for labels "
            "or 0x00000803 for images); is this an MNIST-layout IDX file?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise DataError(
            f"{path}: header promises {'x'.join(map(str, dims))} = {expected} bytes of data, "
            f"file holds {len(data) - header}; the file is truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


@dataclass
class Split:
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) uint8


def _find_file(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    return None


def has_files(directory: Path) -> bool:
    return directory.is_dir() and all(_find_file(directory, s) for s in FILES.values())


def load_dir(directory: str | Path) -> tuple[Split, Split]:
    """Read the four MNIST-layout files of a directory into a train and a test split."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    paths = {}
    for key, stem in FILES.items():
        found = _find_file(directory, stem)
        if found is None:
            raise DataError(f"{directory}: missing {stem}.gz (a directory in MNIST layout holds four IDX files)")
        paths[key] = found
    splits = []
    for part in ("train", "test"):
        images, labels = read_idx(paths[f"{part}_images"]), read_idx(paths[f"{part}_labels"])
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"{paths[f'{part}_images']}: images are {images.shape[1:]}, expected 28x28")
        if labels.ndim != 1:
            raise DataError(f"{paths[f'{part}_labels']}: expected a label file (1 dimension)")
        if len(images) != len(labels):
            raise DataError(f"{directory}: {part} split has {len(images)} images but {len(labels)} labels")
        if len(labels) and labels.max() > 9:
            raise DataError(f"{paths[f'{part}_labels']}: labels must be 0..9, found {labels.max()}")
        splits.append(Split(images, labels))
    return splits[0], splits[1]


def candidate_dirs(name: str, data_dir: str = "") -> list[Path]:
    """Where a dataset is looked for, in order."""
    if data_dir:
        return [Path(data_dir).expanduser()]
    dirs = []
    if os.environ.get("RNNVIZ_DATA_DIR"):  # a folder holding <name>/, or MNIST's files themselves
        root = Path(os.environ["RNNVIZ_DATA_DIR"]).expanduser()
        dirs += [root / name] + ([root] if name == "mnist" else [])  # not Fashion-MNIST: its files bear MNIST's names
    dirs.append(cache_dir() / name)
    dirs += [Path(d) for d in DATASETS[name]["system_dirs"]]
    return dirs


def check_dir(data_dir: str) -> None:
    """Raise the DataError that names what is missing when an explicit directory lacks the files."""
    if data_dir and not has_files(Path(data_dir).expanduser()):
        load_dir(data_dir)


def locate(name: str, data_dir: str = "") -> Path | None:
    """The first directory that holds the dataset's files, or None."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    for d in candidate_dirs(name, data_dir):
        if has_files(d):
            return d
    return None


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, dest: Path, md5: str, progress: bool) -> None:
    """Download url to dest via a temporary file, renamed into place only once its MD5 matches."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False)
            received = 0
            for chunk in iter(lambda: resp.read(1 << 16), b""):
                out.write(chunk)
                received += len(chunk)
                if bar:
                    bar.update(len(chunk))
            if bar:
                bar.close()
        if total is not None and received < total:
            raise DataError(f"{url}: download cut off after {received} of {total} bytes")
        got = _md5(tmp)
        if got != md5:
            raise DataError(f"{url}: checksum mismatch (MD5 {got}, expected {md5})")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(name: str, progress: bool = True, mirrors: list[str] | None = None) -> Path:
    """Fetch the dataset into the cache, trying each mirror in turn; returns the directory."""
    roles.require("download data", DataError)
    spec = DATASETS[name]
    target = cache_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    for filename, md5 in spec["md5"].items():
        dest = target / filename
        if dest.is_file() and _md5(dest) == md5:
            continue
        errors = []
        for mirror in mirrors or spec["mirrors"]:
            try:
                _fetch(mirror + filename, dest, md5, progress)
                break
            except (urllib.error.URLError, http.client.HTTPException, OSError, DataError) as exc:
                errors.append(f"{mirror}: {getattr(exc, 'reason', exc)}")
        else:
            raise DataError(
                f"could not download {filename} of {name}:\n  " + "\n  ".join(errors) + "\n" + _how_to_provide(name)
            )
    return target


def _how_to_provide(name: str) -> str:
    looked = ", ".join(str(d) for d in candidate_dirs(name))
    return (
        f"Looked for {name} in: {looked}. To use rnnviz offline, copy the four IDX files "
        f"({', '.join(s + '.gz' for s in FILES.values())}) into {cache_dir() / name}, "
        "or point --data-dir (or $RNNVIZ_DATA_DIR/<dataset>/) at a directory that holds them."
    )


def load(
    name: str = "mnist", data_dir: str = "", allow_download: bool = True, progress: bool = True
) -> tuple[Split, Split]:
    """Train and test splits of a dataset: from data_dir, else looked up, else downloaded."""
    if data_dir:
        return load_dir(data_dir)
    found = locate(name)
    if found is None:
        if not allow_download:
            raise DataError(f"{name} is not on this machine. " + _how_to_provide(name))
        found = download(name, progress=progress)
    return load_dir(found)


def install_from(src: str | Path, name: str) -> Path:
    """Copy a directory of MNIST-layout files into the cache (checked first)."""
    roles.require("add data", DataError)
    load_dir(src)
    target = cache_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    for stem in FILES.values():
        f = _find_file(Path(src), stem)
        assert f is not None  # load_dir above found every file
        shutil.copyfile(f, target / f.name)
    return target


# TensorFlow's input_data holds 5,000 of MNIST's 60,000 training images out for validation; smaller sets
# keep the same share (667 of 8,000).
VALIDATION_SHARE = 1 / 12
# A stream of its own from the seed, so the split is not tied to the weights, the batches or the permutation.
_VALIDATION_STREAM = 1


def validation_size(n: int) -> int:
    """Training images held out for validation, of n."""
    return round(n * VALIDATION_SHARE)


def validation_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) into n training images, disjoint, each in ascending order; the seed alone
    picks them, so every run with that seed (an RNN and an LSTM alike) holds out the same images."""
    order = np.random.default_rng([seed, _VALIDATION_STREAM]).permutation(n)
    k = validation_size(n)
    return np.sort(order[k:]), np.sort(order[:k])


def train_count(name: str, data_dir: str = "") -> int | None:
    """Images a run trains on (the training split less its validation split), from the labels file alone;
    None when the dataset is not on this machine."""
    directory = Path(data_dir).expanduser() if data_dir else locate(name)
    labels = _find_file(directory, FILES["train_labels"]) if directory else None
    if labels is None:
        return None
    n = len(read_idx(labels))
    return n - validation_size(n)


def permutation(seed: int) -> np.ndarray:
    """The fixed pixel permutation of a seed (the same on every machine)."""
    return np.random.default_rng(seed).permutation(784)


def sequences(images: np.ndarray, seq_len: int, perm: np.ndarray | None = None) -> torch.Tensor:
    """Images (N, 28, 28) uint8 as sequences (N, T, 784 // T) uint8, pixels read row by row."""
    flat = images.reshape(len(images), 784)
    if perm is not None:
        flat = flat[:, perm]
    return torch.from_numpy(np.ascontiguousarray(flat)).view(len(images), seq_len, 784 // seq_len)


def reading_order(seq_len: int, perm: np.ndarray | None = None) -> np.ndarray:
    """(T, I): the flat pixel index (row * 28 + column) that each step and input of a sequence reads, found by
    passing `sequences` an image whose pixels hold their own index."""
    return sequences(np.arange(784).reshape(1, 28, 28), seq_len, perm)[0].numpy()


@dataclass
class ViewShape:
    """How a batch of images reads in one sequence view: x = sequences(images) of shape (B, T, I), which the
    model reads as T tensors x[:, t - 1] of shape (B, I), and the pixels each of them holds."""

    name: str
    shape: tuple[int, int, int]  # (B, T, I)
    order: np.ndarray  # (T, I) flat pixel indices, as reading_order gives them


def view_shapes(batch_size: int = 100, chunk: int = 7, seed: int = 0) -> list[ViewShape]:
    """The four ways rnnviz reads a batch (rows, chunks of `chunk` pixels, pixels, pixels permuted by the seed),
    each from the `sequences` call that builds the runs' data."""
    out = []
    for name, seq_len, perm in (
        ("rows", 28, None),
        (f"chunks of {chunk}", 784 // chunk, None),
        ("pixels", 784, None),
        (f"permuted (seed {seed})", 784, permutation(seed)),
    ):
        images = np.zeros((batch_size, 28, 28), np.uint8)
        x = sequences(images, seq_len, perm)  # (B, T, I)
        B, T, I = x.shape
        out.append(ViewShape(name, (B, T, I), reading_order(seq_len, perm)))
    return out


def _pixels(indices: np.ndarray) -> str:
    """Flat pixel indices in words, rows and columns counted from 1: 'row 1, columns 1-28'."""
    rows, cols = np.divmod(np.asarray(indices), 28)
    if len(indices) == 1:
        return f"row {rows[0] + 1}, column {cols[0] + 1}"
    if np.all(np.diff(indices) == 1) and rows[0] == rows[-1]:
        return f"row {rows[0] + 1}, columns {cols[0] + 1}-{cols[-1] + 1}"
    if np.all(np.diff(indices) == 1):
        return f"row {rows[0] + 1} column {cols[0] + 1} to row {rows[-1] + 1} column {cols[-1] + 1}"
    return ", ".join(f"({r + 1}, {c + 1})" for r, c in zip(rows, cols))


def illustration(batch_size: int = 100, chunk: int = 7, seed: int = 0) -> str:
    """How a batch of images becomes T tensors of shape (B, I) in each view, as lines of text (view_shapes)."""
    lines = [
        f"images (B, 28, 28) with B = {batch_size} -> data.sequences -> x (B, T, I); at time step t the "
        "model reads x[:, t - 1], a (B, I) tensor (x.unbind(1) is the list of all T, what TensorFlow's "
        "transpose, reshape and split make)"
    ]
    for v in view_shapes(batch_size, chunk, seed):
        B, T, I = v.shape
        first = "; ".join(f"x_{t + 1} = {_pixels(v.order[t])}" for t in (0, 1))
        lines.append(f"{v.name}: x {v.shape}, {T} tensors of ({B}, {I}): {first}; ...; x_{T} = {_pixels(v.order[-1])}")
    return "\n".join(lines)


def to_float(batch: torch.Tensor) -> torch.Tensor:
    """uint8 pixels to float32 in [0, 1]; done per batch so the dataset stays 4x smaller."""
    return batch.float().div_(255.0)
