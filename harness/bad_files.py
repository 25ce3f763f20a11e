"""Hostile slider files for the hardening tests, built without ever holding what they declare: safetensors headers
that promise more than the file has (truncated, or sparse with holes), and torch `.pt` zips whose pickles declare
storages their records do not hold or whose records are deflated bombs.

Also the one measurement the memory tests need: the peak resident memory of loading files in a fresh process.
"""
from __future__ import annotations

import collections
import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import torch

ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}


def write_safetensors_header(path: Path, tensors: dict[str, tuple[str, tuple[int, ...]]], held: int = 0,
                             sparse: bool = False) -> Path:
    """A header declaring `tensors` (name → (dtype, shape)) back to back, followed by `held` bytes of data, or,
    with `sparse`, extended to the full declared length with a hole (nothing written, nothing on disk)."""
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * ITEMSIZE[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + bytes(min(held, offset)))
        if sparse:
            handle.truncate(8 + len(encoded) + offset)
    return path


class _Storage:
    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


class _Tensor:
    """Pickles as torch's own tensor rebuild from a storage, as torch.save writes it."""

    def __init__(self, storage: _Storage, shape: tuple[int, ...]) -> None:
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride = tuple(math.prod(self.shape[index + 1:]) for index in range(len(self.shape)))
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, self.shape, stride, False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


def write_pt(path: Path, shapes: dict[str, tuple[int, ...]], record_bytes: dict[str, int] | None = None,
             deflate: bool = False) -> Path:
    """A torch zip checkpoint of fp32 tensors (name → shape), storage i for tensor i, whose record i holds
    `record_bytes[str(i)]` zero bytes (default: what the storage declares), deflated with `deflate`."""
    storages, tensors = [], {}
    for index, (name, shape) in enumerate(shapes.items()):
        storage = _Storage(str(index), math.prod(shape))
        storages.append(storage)
        tensors[name] = _Tensor(storage, shape)
    records = record_bytes or {}
    pickled = _pickled(tensors)
    compression = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=compression, compresslevel=1 if deflate else None) as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
        for storage in storages:
            size = records.get(storage.key, storage.numel * 4)
            with archive.open(f"archive/data/{storage.key}", "w", force_zip64=True) as record:
                _write_zeros(record, size)
    return path


def _pickled(tensors: dict[str, _Tensor]) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(tensors)
    return buffer.getvalue()


def _write_zeros(handle, size: int, chunk: int = 1 << 22) -> None:
    block = bytes(min(chunk, size))
    while size > 0:
        handle.write(block[:size])
        size -= len(block)


_PEAK_SCRIPT = """
import json, sys
from harness.memory import PeakResidentMemory
from slider_core.errors import SliderError
from slider_core.io.slider_files import load_slider

results = {}
for path in sys.argv[1:]:
    with PeakResidentMemory() as memory:
        try:
            load_slider(path)
            outcome = "loaded"
        except SliderError as error:
            outcome = type(error).__name__ + ": " + str(error)
    results[path] = {"peak_above_baseline": memory.above_baseline, "outcome": outcome}
print(json.dumps(results))
"""


def peak_memory_of_loading(paths: list[Path], root: Path) -> dict[str, dict[str, object]]:
    """Per file: how far the resident size of a fresh process rose above its level before `load_slider(path)`,
    and what happened (the error's type and message, or "loaded"). Linux only (/proc/self/clear_refs)."""
    completed = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, *map(str, paths)], cwd=root,
                               capture_output=True, text=True, check=True,
                               env={**os.environ, "PYTHONPATH": str(root)})
    return json.loads(completed.stdout.strip().splitlines()[-1])
