"""Plain data that crosses between the grading process and student code: the codec and its types.

Both sides import this module (the sandbox's child gets a copy of this file, nothing else
of ours), and so do the hidden suites (``Rng``, ``Unencodable``), which must not depend on
the sandbox.  Only JSON with numpy arrays of builtin numeric dtypes crosses: never pickles,
never objects of the student's classes.  Self-contained: stdlib and numpy only.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import struct
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: dtype kinds that may cross the boundary: bool, signed/unsigned int, float, complex
SAFE_KINDS = frozenset("biufc")
MAX_DEPTH = 8
MAX_ELEMENTS = 4_000_000
#: largest frame either side accepts (a frame is one JSON message)
MAX_FRAME = 48 * 1024 * 1024
#: longest string from student code that reaches a result (messages, type names, cells)
MAX_TEXT = 300
#: bit generators whose state may cross (the suites' ``Rng`` makes PCG64 generators)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class Rng:
    """Marker for a ``numpy.random.Generator`` seeded with ``seed``, made on arrival."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"Rng({self.seed})"


class Unencodable:
    """What the student returned could not cross the boundary (an object, a generator...)."""

    def __init__(self, type_name: str, reason: str = ""):
        self.type_name = clean_text(type_name, 60)
        self.reason = clean_text(reason)

    def __repr__(self) -> str:
        return f"<unencodable {self.type_name}>"


#: most items read out of a generator or iterator that student code returns
MAX_ITEMS = 10_000


class Iterated(list):
    """The items of a generator or iterator that student code returned, read out where it ran
    (``read_out``): the grader judges the items, and can still say that a generator came back
    where the docstring asks for a list or an array."""

    def __init__(self, items=(), type_name: str = "generator", complete: bool = True):
        super().__init__(items)
        self.type_name = clean_text(type_name, 60)
        self.complete = bool(complete)

    def __repr__(self) -> str:
        return f"<{self.type_name} of {len(self)} items>"


def read_out(value, limit: int = MAX_ITEMS):
    """``value``, or the first ``limit`` items of a generator or iterator ``value`` as an
    ``Iterated``.  Runs student code (their generator): call it under the call's timer."""
    if not isinstance(value, Iterator):
        return value
    items = list(itertools.islice(value, limit))
    complete = len(items) < limit or _exhausted(value)
    return Iterated(items, type(value).__name__, complete)


def _exhausted(iterator) -> bool:
    for _ in iterator:
        return False
    return True


class CallbackRef:
    """Marker for a callable that lives in the other process."""

    def __init__(self, cb: int):
        self.cb = int(cb)


class RemoteError(Exception):
    """Raised inside student code when one of our callbacks (f, grad_f, a stand-in) failed."""


def clean_text(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` made safe for results, feedback, CSV and XML: no control or format characters
    (but newline and tab), no lone surrogates, at most ``limit`` characters."""
    if not isinstance(text, str):
        text = str(text) if isinstance(text, (int, float)) else ""
    text = text[: limit * 4]
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")  # lone surrogates -> "?"
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in "\ufffe\uffff":
            # Cf: invisible format characters, bidi overrides (U+202E) among them, which make
            # text read differently from what it says
            out.append("?")
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode(obj, callbacks: list | None = None, depth: int = 0, hook: Callable[[Any], Any] | None = None):
    """Turn ``obj`` into JSON-able plain data.  Callables go into ``callbacks``; ``hook``
    may turn other objects (the child's proxies, generators) into markers first."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if hook is not None:
        marker = hook(obj)
        if marker is not None:
            return marker
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if type(obj) in (int, float):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, np.generic) and obj.dtype.kind in SAFE_KINDS:
        return {"__scalar__": _encode_array(np.asarray(obj))}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in SAFE_KINDS:
            raise TypeError(f"array of dtype {obj.dtype}")
        return {"__ndarray__": _encode_array(obj)}
    if isinstance(obj, Iterated):
        return {"__iterated__": [obj.type_name, obj.complete, [encode(x, callbacks, depth + 1, hook) for x in obj]]}
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        kind = "__list__" if isinstance(obj, list) else "__tuple__"
        return {kind: [encode(x, callbacks, depth + 1, hook) for x in obj]}
    if type(obj) is dict and all(type(k) is str for k in obj):
        return {"__dict__": {k: encode(v, callbacks, depth + 1, hook) for k, v in obj.items()}}
    if isinstance(obj, Rng):
        return {"__rng__": obj.seed}
    if isinstance(obj, Unencodable):
        return {"__unencodable__": [obj.type_name, obj.reason]}
    if isinstance(obj, CallbackRef):
        return {"__callback__": obj.cb}
    if callable(obj) and callbacks is not None:
        callbacks.append(obj)
        return {"__callback__": len(callbacks) - 1}
    raise TypeError(f"cannot send a {type(obj).__name__}")


def encode_result(obj, hook: Callable[[Any], Any] | None = None):
    """Like ``encode`` but never fails: what cannot be sent becomes ``Unencodable``."""
    try:
        return encode(obj, hook=hook)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        return encode(Unencodable(obj.type_name if isinstance(obj, Iterated) else type(obj).__name__, str(exc)))


def _encode_array(a: np.ndarray) -> dict:
    if a.size > MAX_ELEMENTS:
        raise ValueError(f"array with {a.size} elements is too large")
    # np.array, not np.ascontiguousarray: the latter makes a 0-d value 1-d
    a = np.array(a, order="C", copy=True)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode_array(d: dict) -> np.ndarray:
    dtype = np.dtype(str(d["dtype"]))
    if dtype.kind not in SAFE_KINDS:
        raise TypeError(f"refusing dtype {dtype}")
    shape = tuple(int(s) for s in d["shape"])
    if len(shape) > 32 or any(s < 0 for s in shape) or int(np.prod(shape, dtype=object)) > MAX_ELEMENTS:
        raise ValueError("array too large")
    raw = base64.b64decode(d["data"], validate=True)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def make_generator(state) -> np.random.Generator:
    """A Generator in exactly ``state`` (a ``bit_generator.state`` dict that crossed)."""
    if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
        raise ValueError("unknown bit generator")
    bit = getattr(np.random, str(state["bit_generator"]))()
    bit.state = state
    return np.random.Generator(bit)


def decode(obj, make_callback=None, make_rng=None, depth: int = 0, hook: Callable[[str, Any], Any] | None = None):
    """Inverse of ``encode``.  Never builds anything but plain data and arrays (and what
    ``make_callback``, ``make_rng`` and ``hook(tag, value)`` make of their markers)."""
    if depth > MAX_DEPTH + 2:
        raise ValueError("nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict) and len(obj) == 1:
        ((key, val),) = obj.items()
        if key == "__ndarray__":
            return _decode_array(val)
        if key == "__scalar__":
            return _decode_array(val)[()]
        if key == "__float__":
            return float(val)
        if key in ("__list__", "__tuple__"):
            items = [decode(x, make_callback, make_rng, depth + 1, hook) for x in val]
            return items if key == "__list__" else tuple(items)
        if key == "__iterated__" and isinstance(val, list) and len(val) == 3 and isinstance(val[2], list):
            items = [decode(x, make_callback, make_rng, depth + 1, hook) for x in val[2]]
            return Iterated(items, str(val[0]), bool(val[1]))
        if key == "__dict__":
            return {str(k): decode(v, make_callback, make_rng, depth + 1, hook) for k, v in val.items()}
        if key == "__rng__":
            return make_rng(int(val)) if make_rng else Rng(int(val))
        if key == "__unencodable__":
            return Unencodable(str(val[0]), str(val[1]))
        if key == "__callback__":
            return make_callback(int(val)) if make_callback else CallbackRef(int(val))
        if hook is not None and key.startswith("__") and key.endswith("__"):
            return hook(key, val)
    raise ValueError("malformed message")


def roundtrip(obj):
    """What ``obj`` looks like after crossing the boundary (used in-process for parity)."""
    return decode(encode_result(obj))


# ---------------------------------------------------------------------------------------
# Framing: 4-byte big-endian length, then UTF-8 JSON (ASCII: ensure_ascii)
# ---------------------------------------------------------------------------------------


def frame(message: dict) -> bytes:
    data = json.dumps(message, allow_nan=False, ensure_ascii=True).encode("ascii")
    if len(data) > MAX_FRAME:
        raise ValueError("message too large")
    return struct.pack(">I", len(data)) + data


def write_message(fd: int, message: dict) -> None:
    """Blocking write of one frame (the child's side; the grader writes with a deadline)."""
    view = memoryview(frame(message))
    while view:
        view = view[os.write(fd, view) :]


def read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> dict:
    (length,) = struct.unpack(">I", read_exact(fd, 4))
    if length > MAX_FRAME:
        raise EOFError("frame too large")
    message = json.loads(read_exact(fd, length))
    if not isinstance(message, dict):
        raise EOFError("malformed frame")
    return message
