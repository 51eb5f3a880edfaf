"""The child process that runs a student's notebook and answers calls to its functions.

Why a separate process: student code runs here, the verdicts are made in the grading
process. Nothing the student does here (monkeypatching numpy, ``sys.exit``, reading
frames, an infinite loop, a segfault) can reach the code that compares answers. Only
plain data crosses the boundary: JSON with numpy arrays of builtin numeric dtypes, never
pickles, never objects of the student's classes.

This file is deliberately self-contained (stdlib + numpy): it is started as a script,
before the student's code runs it blocks ``import autograder`` so that the hidden suites
are out of reach, and the grading process imports only its codec (``encode``/``decode``).

The protocol, one JSON message per frame (4-byte big-endian length, then UTF-8):

parent -> child  {"op": "load", "cells": [{"index", "source", "mode"}], "cell_seconds"}
child -> parent  {"op": "cell_start", "index"} ... {"op": "loaded", "cells": [...]}
parent -> child  {"op": "call", "fn", "args", "kwargs", "standins", "global_seed",
                  "seconds", "return_args"}
child -> parent  {"op": "callback", "cb", "args"}   (the student called f, grad_f, a spy...)
parent -> child  {"op": "callback_result", "value"} | {"op": "callback_error", "message"}
child -> parent  {"op": "result", "value", "args_after"} | {"op": "error", ...} | {"op": "missing"}
"""

from __future__ import annotations

import ast
import base64
import json
import os
import signal
import struct
import sys
import traceback

import numpy as np

# ---------------------------------------------------------------------------------------
# Codec: plain data only.  Shared by both processes.
# ---------------------------------------------------------------------------------------

#: dtype kinds that may cross the boundary: bool, signed/unsigned int, float, complex
SAFE_KINDS = frozenset("biufc")
MAX_DEPTH = 8
MAX_ELEMENTS = 20_000_000


class Rng:
    """Marker for a ``numpy.random.Generator`` seeded with ``seed``, made on arrival."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"Rng({self.seed})"


class Unencodable:
    """What the student returned could not cross the boundary (an object, a generator...)."""

    def __init__(self, type_name: str, reason: str = ""):
        self.type_name = type_name
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unencodable {self.type_name}>"


class CallbackRef:
    """Marker for a callable that lives in the other process."""

    def __init__(self, cb: int):
        self.cb = int(cb)


def encode(obj, callbacks: list | None = None, depth: int = 0):
    """Turn ``obj`` into JSON-able plain data.  Callables go into ``callbacks``."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and type(obj) in (int, float, bool):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, np.generic) and obj.dtype.kind in SAFE_KINDS:
        return {"__scalar__": _encode_array(np.asarray(obj))}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in SAFE_KINDS:
            raise TypeError(f"array of dtype {obj.dtype}")
        return {"__ndarray__": _encode_array(obj)}
    if isinstance(obj, (list, tuple)):
        kind = "__list__" if isinstance(obj, list) else "__tuple__"
        return {kind: [encode(x, callbacks, depth + 1) for x in obj]}
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {"__dict__": {k: encode(v, callbacks, depth + 1) for k, v in obj.items()}}
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


def encode_result(obj):
    """Like ``encode`` but never fails: what cannot be sent becomes ``Unencodable``."""
    try:
        return encode(obj)
    except (TypeError, ValueError) as exc:
        return encode(Unencodable(type(obj).__name__, str(exc)))


def _encode_array(a: np.ndarray) -> dict:
    if a.size > MAX_ELEMENTS:
        raise ValueError(f"array with {a.size} elements is too large")
    a = np.ascontiguousarray(a)
    return {
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "data": base64.b64encode(a.tobytes()).decode("ascii"),
    }


def _decode_array(d: dict) -> np.ndarray:
    dtype = np.dtype(str(d["dtype"]))
    if dtype.kind not in SAFE_KINDS:
        raise TypeError(f"refusing dtype {dtype}")
    shape = tuple(int(s) for s in d["shape"])
    raw = base64.b64decode(d["data"], validate=True)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(obj, make_callback=None, make_rng=None):
    """Inverse of ``encode``.  Never builds anything but plain data and arrays."""
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
            items = [decode(x, make_callback, make_rng) for x in val]
            return items if key == "__list__" else tuple(items)
        if key == "__dict__":
            return {str(k): decode(v, make_callback, make_rng) for k, v in val.items()}
        if key == "__rng__":
            return make_rng(int(val)) if make_rng else Rng(int(val))
        if key == "__unencodable__":
            return Unencodable(str(val[0]), str(val[1]))
        if key == "__callback__":
            return make_callback(int(val)) if make_callback else CallbackRef(int(val))
    raise ValueError("malformed message")


def roundtrip(obj):
    """What ``obj`` looks like after crossing the boundary (used in-process for parity)."""
    return decode(encode_result(obj))


# ---------------------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------------------


def write_message(fd: int, message: dict) -> None:
    data = json.dumps(message, allow_nan=False).encode()
    frame = struct.pack(">I", len(data)) + data
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view) :]


def read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> dict:
    (length,) = struct.unpack(">I", read_exact(fd, 4))
    return json.loads(read_exact(fd, length))


# ---------------------------------------------------------------------------------------
# Running the notebook's cells
# ---------------------------------------------------------------------------------------


class _TimeUp(BaseException):
    """Raised by our timer; a BaseException so that ``except Exception`` does not eat it."""


def _on_alarm(signum, frame):
    raise _TimeUp()


def _strip_magics(source: str) -> str:
    """IPython lines (``%matplotlib inline``, ``!pip install``) are not Python: skip them."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        lines.append(line)
    return "\n".join(lines)


#: modules that lesson cells import only to draw: bound lazily, imported on first use
LAZY_MODULES = ("matplotlib", "seaborn", "IPython")


class LazyModule:
    """Stands for a module until something uses it, then imports it for real."""

    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def __getattr__(self, attr):
        import importlib

        module = importlib.import_module(self.__dict__["_name"])
        return getattr(module, attr)


def _lazy_imports(node: ast.stmt) -> list[ast.stmt] | None:
    """``import matplotlib.pyplot as plt`` in a lesson cell becomes ``plt = LazyModule(...)``:
    grading does not draw, and importing matplotlib would cost a third of a second."""
    if isinstance(node, ast.Import) and all(a.name.split(".")[0] in LAZY_MODULES and a.asname for a in node.names):
        targets = [(a.asname, a.name) for a in node.names]
    elif (
        isinstance(node, ast.ImportFrom)
        and node.level == 0
        and (node.module or "").split(".")[0] in LAZY_MODULES
        and all(a.name != "*" for a in node.names)
    ):
        targets = [(a.asname or a.name, f"{node.module}.{a.name}") for a in node.names]
    else:
        return None
    assigns = []
    for alias, name in targets:
        assign = ast.Assign(
            targets=[ast.Name(id=alias, ctx=ast.Store())],
            value=ast.Call(func=ast.Name(id="__LazyModule__", ctx=ast.Load()), args=[ast.Constant(name)], keywords=[]),
        )
        for part in ast.walk(assign):
            ast.copy_location(part, node)  # errors then point at the original import line
        assigns.append(assign)
    return assigns


def _definitions_only(tree: ast.Module) -> ast.Module:
    """Keep imports, defs and literal constants: what a lesson cell contributes to a namespace.

    Lesson cells also draw plots and run experiments; grading needs none of that, and
    skipping it keeps grading fast.
    """
    keep = []
    for node in tree.body:
        lazy = _lazy_imports(node) if isinstance(node, (ast.Import, ast.ImportFrom)) else None
        if lazy is not None:
            keep.extend(lazy)
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            try:
                ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                continue
            keep.append(node)
    return ast.Module(body=keep, type_ignores=[])


def student_frames_summary(exc: BaseException) -> str:
    """Where in the student's cells the error happened, e.g. ``cell 7, line 3``."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<cell "):
            where = f"{frame.filename.strip('<>')}, line {frame.lineno}"
    return where


def describe_exception(exc: BaseException) -> dict:
    message = str(exc)
    if len(message) > 300:
        message = message[:300] + "..."
    return {"type": type(exc).__name__, "message": message, "where": student_frames_summary(exc)}


def run_cells(namespace: dict, cells: list, cell_seconds: float, resp_fd: int) -> list:
    report = []
    for cell in cells:
        write_message(resp_fd, {"op": "cell_start", "index": cell["index"]})
        entry = {"index": cell["index"], "status": "ok"}
        try:
            tree = ast.parse(_strip_magics(cell["source"]), filename=f"<cell {cell['index']}>")
            if cell["mode"] == "defs":
                tree = _definitions_only(tree)
            code = compile(tree, f"<cell {cell['index']}>", "exec")
            signal.setitimer(signal.ITIMER_REAL, cell_seconds)
            try:
                exec(code, namespace)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _TimeUp:
            entry = {"index": cell["index"], "status": "timeout"}
        except SyntaxError as exc:
            entry = {
                "index": cell["index"],
                "status": "error",
                "type": "SyntaxError",
                "message": str(exc.msg),
                "where": f"cell {cell['index']}, line {exc.lineno}",
            }
        except BaseException as exc:  # noqa: BLE001 - a student cell may raise anything, even SystemExit
            entry = {"index": cell["index"], "status": "error", **describe_exception(exc)}
        report.append(entry)
    return report


# ---------------------------------------------------------------------------------------
# Answering calls
# ---------------------------------------------------------------------------------------


def invoke(namespace: dict, fn_name: str, args, kwargs, standins: dict):
    """Call ``namespace[fn_name]`` with ``standins`` temporarily replacing the globals it
    calls (our ``gd_step`` inside their ``gradient_descent``), so that each function is
    graded on its own.  Shared by the child process and the in-kernel front end."""
    fn = namespace.get(fn_name)
    if fn is None:
        raise LookupError(fn_name)
    if not callable(fn):
        raise TypeError(f"{fn_name} is a {type(fn).__name__}, not a function")
    fn_globals = getattr(fn, "__globals__", namespace)
    saved = {name: fn_globals[name] for name in standins if name in fn_globals}
    fn_globals.update(standins)
    try:
        return fn(*args, **kwargs)
    finally:
        for name in standins:
            fn_globals.pop(name, None)
        fn_globals.update(saved)


class RemoteError(Exception):
    """Raised inside student code when one of our callbacks (f, grad_f, grad_fn) failed."""


def serve(req_fd: int, resp_fd: int, reference_path: str) -> None:
    import importlib.util

    # The stand-ins come from the reference module; load it by path before imports are blocked.
    spec = importlib.util.spec_from_file_location("_gd_reference", reference_path)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    signal.signal(signal.SIGALRM, _on_alarm)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "__LazyModule__": LazyModule}

    def make_proxy(cb: int):
        def proxy(*args):
            write_message(resp_fd, {"op": "callback", "cb": cb, "args": encode_result(list(args))})
            reply = read_message(req_fd)
            if reply.get("op") == "callback_error":
                raise RemoteError(reply.get("message", "callback failed"))
            return decode(reply["value"], make_proxy, np.random.default_rng)

        return proxy

    while True:
        try:
            request = read_message(req_fd)
        except EOFError:
            return
        op = request.get("op")
        if op == "load":
            report = run_cells(namespace, request["cells"], request["cell_seconds"], resp_fd)
            names = {
                k: ("function" if callable(v) else type(v).__name__)
                for k, v in list(namespace.items())
                if not k.startswith("__")
            }
            write_message(resp_fd, {"op": "loaded", "cells": report, "names": names})
        elif op == "call":
            reply = _answer_call(namespace, request, make_proxy, reference)
            write_message(resp_fd, reply)
        elif op == "exit":
            return


def _answer_call(namespace, request, make_proxy, reference) -> dict:
    args = decode(request["args"], make_proxy, np.random.default_rng)
    kwargs = decode(request["kwargs"], make_proxy, np.random.default_rng)
    standins = {name: getattr(reference, name) for name in request.get("standins", [])}
    if request.get("global_seed") is not None:
        np.random.seed(request["global_seed"])
        import random

        random.seed(request["global_seed"])
    signal.setitimer(signal.ITIMER_REAL, float(request.get("seconds", 10)))
    try:
        value = invoke(namespace, request["fn"], args, kwargs, standins)
    except LookupError as exc:
        if exc.args == (request["fn"],):
            return {"op": "missing"}
        return {"op": "error", **describe_exception(exc)}
    except _TimeUp:
        return {"op": "timeout"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt... all cost only this call
        return {"op": "error", **describe_exception(exc)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    reply = {"op": "result", "value": encode_result(value)}
    if request.get("return_args"):
        reply["args_after"] = encode_result(_without_callables(args))
    return reply


def _without_callables(args):
    """The arguments as plain data; what cannot be sent (callables, Generators) becomes None."""
    plain = []
    for a in args:
        try:
            encode(a)
            plain.append(a)
        except (TypeError, ValueError):
            plain.append(None)
    return plain


class _BlockGrader:
    """A meta-path finder that refuses ``import autograder``: the hidden suites stay hidden."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "autograder" or name.startswith("autograder."):
            raise ImportError("the grader is not available to student code")
        return None


def main(argv: list[str]) -> None:
    req_fd, resp_fd = int(argv[1]), int(argv[2])
    reference_path, workdir = argv[3], argv[4]
    extra_paths = argv[5:]
    os.chdir(workdir)
    sys.path[:0] = [workdir, *extra_paths]
    for name in [m for m in sys.modules if m == "autograder" or m.startswith("autograder.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _BlockGrader)
    # plots go nowhere: the parent sets MPLBACKEND=Agg, so plt.show() never opens a window
    serve(req_fd, resp_fd, reference_path)


if __name__ == "__main__":
    main(sys.argv)
