"""What a slider file declares about its tensors, checked against itself and against the file before any tensor
is read.

A file's header says how big its tensors are; a reader that believes it allocates that much before finding out
the file does not hold it. A 4 KB sparse `.safetensors` declaring a 2 GiB tensor, or a 1 MB `.pt` whose deflated
record unpacks to 2 GiB, would cost gigabytes of RAM before being refused. So every size is checked first:

- `.safetensors`: the 8-byte header length against the file, then per tensor its dtype, shape and byte range
  against each other, the ranges against each other and the data section, and the data section against the bytes
  the disk really holds (holes of a sparse file read as zeros but hold nothing).
- `.pt` (torch's zip format): the pickle is read with stand-ins for every class it names (nothing of it runs,
  nothing is allocated) to learn each storage's dtype and element count, which must equal its record's size; the
  records together must be held by the file (torch.save stores them uncompressed).

The bound this gives (README, hardening): refusing a file costs at most `MEMORY_SLACK` above the bytes the file
really holds, and a header or pickle is at most `MAX_HEADER_BYTES` / `MAX_PICKLE_BYTES`.
"""
from __future__ import annotations

import codecs
import collections
import io
import itertools
import json
import math
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import SliderFormatError

MiB = 1 << 20
MEMORY_SLACK = 64 * MiB
"""Tensor bytes a file may declare beyond what it holds on disk (holes, deflated records) before it is refused."""
MAX_HEADER_BYTES = 8 * MiB
"""A slider's safetensors header is a few hundred bytes per tensor plus kohya metadata (tag frequencies: ~1 MB)."""
MAX_PICKLE_BYTES = 4 * MiB
"""A .pt state dict pickles to ~200 bytes per tensor: 4 MiB is 20 000 tensors."""

SAFETENSORS_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
                        "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def check_safetensors_sizes(path: Path) -> None:
    """Refuse (SliderFormatError naming the file and tensor) a header that does not describe the file."""
    name = path.name
    file_size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise SliderFormatError(f"{name}: not a readable safetensors file ({file_size} bytes, shorter than its "
                                    "8-byte header length); re-export or re-download it")
        header_length = int.from_bytes(head, "little")
        if header_length > min(MAX_HEADER_BYTES, file_size - 8):
            raise SliderFormatError(
                f"{name}: not a readable safetensors file: its header claims {_size(header_length)} but the file "
                f"has {_size(file_size - 8)} after the length (and headers are at most {_size(MAX_HEADER_BYTES)}); "
                "the file is truncated or not a safetensors file")
        try:
            header = json.loads(handle.read(header_length))
        except (ValueError, UnicodeDecodeError) as error:
            raise SliderFormatError(f"{name}: not a readable safetensors file (its header is not JSON: {error})") from None
        if not isinstance(header, dict):
            raise SliderFormatError(f"{name}: not a readable safetensors file (its header is not a JSON object)")
        data_start = 8 + header_length
        data_size = file_size - data_start
        regions = sorted(_declared_region(name, key, entry, data_size)
                         for key, entry in header.items() if key != "__metadata__")
        for (_, end, first), (begin, _, second) in itertools.pairwise(regions):
            if begin < end:
                raise SliderFormatError(f"{name}: tensors {first!r} and {second!r} claim overlapping bytes; the file "
                                        "is corrupt or forged: re-export it")
        holes = _hole_bytes(handle.fileno(), data_start, file_size)
    if holes > MEMORY_SLACK:
        raise SliderFormatError(
            f"{name}: a sparse file: {_size(holes)} of the {_size(data_size)} of tensor data its header declares are "
            "holes that hold nothing on disk, so it is not a real export; refused before reading it. Re-export or "
            "re-download the slider")


def _declared_region(name: str, key: str, entry: Any, data_size: int) -> tuple[int, int, str]:
    """(begin, end, key) of one tensor's bytes after checking its dtype, shape and offsets agree."""
    if not isinstance(entry, dict):
        raise SliderFormatError(f"{name}: tensor {key!r} has no dtype/shape/data_offsets entry; the file is corrupt")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in SAFETENSORS_ITEMSIZE:
        raise SliderFormatError(f"{name}: tensor {key!r} has dtype {dtype!r}, which a slider cannot hold (use "
                                "F32, F16, BF16 or F8_E4M3/F8_E5M2 factors)")
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise SliderFormatError(f"{name}: tensor {key!r} has shape {shape!r}; expected a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise SliderFormatError(f"{name}: tensor {key!r} has data offsets {offsets!r}; expected [begin, end]")
    begin, end = offsets
    declared = math.prod(shape) * SAFETENSORS_ITEMSIZE[dtype]
    if end - begin != declared:
        raise SliderFormatError(f"{name}: tensor {key!r} declares shape {shape} of {dtype} ({_size(declared)}) but "
                                f"its data spans {_size(end - begin)}; the file is corrupt or forged")
    if end > data_size:
        raise SliderFormatError(
            f"{name}: tensor {key!r} declares data up to byte {end} ({_size(declared)} for shape {shape}) but the "
            f"file holds only {_size(data_size)} of tensor data: the header declares more than the file holds "
            "(truncated or forged); refused before reading it")
    return begin, end, key


def _hole_bytes(descriptor: int, start: int, end: int) -> int:
    """Bytes of [start, end) in holes of a sparse file (0 where the platform cannot say)."""
    if not hasattr(os, "SEEK_HOLE"):
        return 0
    total, position = 0, start
    while position < end:
        try:
            hole = os.lseek(descriptor, position, os.SEEK_HOLE)
        except OSError:
            return total
        if hole >= end:
            break
        try:
            data = os.lseek(descriptor, hole, os.SEEK_DATA)
        except OSError:  # no data after the hole: it runs to the end of the file
            data = end
        total += min(data, end) - hole
        position = data
    return total


class _StorageType:
    """Stand-in for a storage class named in a pickle (`torch.FloatStorage`, `torch.storage.UntypedStorage`):
    only the dtype its element count is in is wanted."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype

    @classmethod
    def named(cls, name: str) -> _StorageType:
        if name not in _LEGACY_STORAGES:
            raise pickle.UnpicklingError(f"torch.{name}")
        return cls(_LEGACY_STORAGES[name])


_LEGACY_STORAGES = {"DoubleStorage": torch.float64, "FloatStorage": torch.float32, "HalfStorage": torch.float16,
                    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
                    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
                    "BoolStorage": torch.bool}
"""The typed storage classes torch.save names for these dtypes (others are saved as UntypedStorage)."""


class _Storage:
    def __init__(self, key: str, nbytes: int, dtype: torch.dtype) -> None:
        self.key, self.nbytes, self.dtype = key, nbytes, dtype


class _Tensor:
    """Stand-in for a tensor: its view of a storage, checked to lie inside it."""

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any, dtype: Any) -> None:
        if not (isinstance(storage, _Storage) and isinstance(dtype, torch.dtype) and type(offset) is int
                and isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
                and all(type(v) is int and v >= 0 for v in (*size, *stride)) and offset >= 0):
            raise pickle.UnpicklingError("a malformed tensor")
        extent = offset + sum((s - 1) * t for s, t in zip(size, stride, strict=True)) + 1
        if 0 not in size and extent * dtype.itemsize > storage.nbytes:
            raise pickle.UnpicklingError(f"a tensor of shape {size} that reaches beyond its storage {storage.key}")


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> _Tensor:
    return _Tensor(storage, offset, size, stride, getattr(storage, "dtype", None))


def _rebuild_typed_tensor(storage: Any, offset: Any, size: Any, stride: Any, _grad: Any, _hooks: Any, dtype: Any,
                          *_: Any) -> _Tensor:
    return _Tensor(storage, offset, size, stride, dtype)


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


def _rebuild_from_type(function: Any, _type: Any, arguments: Any, _state: Any) -> Any:
    if function not in (_rebuild_tensor, _rebuild_typed_tensor, _rebuild_parameter):
        raise pickle.UnpicklingError("a tensor subclass")
    return function(*arguments)


_STAND_INS: dict[str, Any] = {
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v3": _rebuild_typed_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
    "torch._tensor._rebuild_from_type_v2": _rebuild_from_type,
    "torch.storage.UntypedStorage": _StorageType(torch.uint8),
    "torch.nn.parameter.Parameter": "Parameter",
    "torch.Tensor": "Tensor",
    "collections.OrderedDict": collections.OrderedDict,
    "_codecs.encode": codecs.encode,
}


class _DeclarationReader(pickle.Unpickler):
    """Unpickles a torch state dict with stand-ins: learns what storages it declares, runs and allocates nothing."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full in _STAND_INS:
            return _STAND_INS[full]
        if module == "torch" and name.endswith("Storage"):
            return _StorageType.named(name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise pickle.UnpicklingError(full)

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and type(pid[4]) is int and pid[4] >= 0):
            raise pickle.UnpicklingError("an unknown persistent reference")
        key, nbytes = str(pid[2]), pid[4] * pid[1].dtype.itemsize
        storage = self.storages.setdefault(key, _Storage(key, nbytes, pid[1].dtype))
        if storage.nbytes != nbytes:
            raise pickle.UnpicklingError(f"storage {key} declared twice with different sizes")
        return storage


def check_torch_zip_sizes(path: Path) -> None:
    """Refuse (SliderFormatError naming the file) a .pt whose declared storages its records do not hold."""
    name = path.name
    file_size = path.stat().st_size
    try:
        if not zipfile.is_zipfile(path):
            raise SliderFormatError(f"{name}: refused to load: not a zip-format torch checkpoint (torch.save has "
                                    "written those since torch 1.6); re-save it with a current torch or convert it "
                                    "to .safetensors")
        with zipfile.ZipFile(path) as archive:
            records = {info.filename: info for info in archive.infolist()}
            pickles = [record for record in records if record.rsplit("/", 1)[-1] == "data.pkl"]
            if len(pickles) != 1:
                raise SliderFormatError(f"{name}: not a torch checkpoint ({len(pickles)} data.pkl records)")
            pickled = records[pickles[0]]
            if pickled.file_size > MAX_PICKLE_BYTES:
                raise SliderFormatError(f"{name}: its pickle unpacks to {_size(pickled.file_size)}, beyond the "
                                        f"{_size(MAX_PICKLE_BYTES)} a slider's state dict needs; refused before "
                                        "reading it")
            reader = _DeclarationReader(archive.read(pickled))
    except SliderFormatError:
        raise
    except Exception as error:  # zipfile raises BadZipFile, zlib.error, NotImplementedError, RuntimeError...
        raise SliderFormatError(f"{name}: not a readable torch checkpoint ({type(error).__name__}: {error})") from None
    try:
        reader.load()
    except Exception as error:  # a stand-in refusing (UnpicklingError) or the pickle itself malformed
        raise SliderFormatError(
            f"{name}: refused to load: it is not a plain tensor checkpoint (it needs {error}). Files that need pickle "
            "to load can run code; convert it to .safetensors with a tool you trust.") from None
    folder = pickles[0][: -len("data.pkl")]
    unpacked = 0
    for key, storage in reader.storages.items():
        record = records.get(f"{folder}data/{key}")
        if record is None or record.file_size != storage.nbytes:
            held = "no record" if record is None else f"a record of {_size(record.file_size)}"
            raise SliderFormatError(f"{name}: storage {key} declares {_size(storage.nbytes)} but the file has {held} "
                                    "for it; the file is corrupt or forged, refused before reading it")
        unpacked += record.file_size
    if unpacked > file_size + MEMORY_SLACK:
        raise SliderFormatError(
            f"{name}: its tensor records unpack to {_size(unpacked)} but the file is {_size(file_size)} (they are "
            "compressed, which torch.save never does): refused before unpacking them. Re-save it with torch.save "
            "or convert it to .safetensors")
