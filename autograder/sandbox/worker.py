"""The child process that runs a student's notebook and answers calls to its functions.

Why a separate process: student code runs here, the verdicts are made in the grading
process. Nothing the student does here (monkeypatching numpy, ``sys.exit``, reading
frames, an infinite loop, a segfault) can reach the code that compares answers. Only
plain data crosses the boundary (``autograder/wire.py``).

This file and ``wire.py`` are the only code of ours inside the jail: the grading process
copies them in (``/opt/gd``), so no path of ours is named there.  No reference
implementation is loaded here: the stand-ins for the student's other functions are
proxies that call the grading process, like ``f`` and ``grad_f``.

The protocol, one message per frame (``wire.frame``: an operation and its named fields, each
field encoded by the codec), requests on fd 0 and replies on fd 1 (the student's prints go to fd 2):

parent -> child  load {cells: [{"index", "source", "mode"}], cell_seconds, arena}
child -> parent  cell_start {index} ... loaded {cells: [...], names}
parent -> child  call {fn, args, kwargs, standins: {name: cb}, global_seed, seconds}
child -> parent  callback {cb, args, kwargs}   (the student called f, grad_f, a stand-in...)
parent -> child  callback_result {value, generators} | callback_error {message}
                 | child_call {ref, args}  (our stand-in calls a function of theirs)
child -> parent  child_result {value} | child_error {type, message, where}
child -> parent  result {value} | error {type, message, where} | missing | timeout

Arrays the grader must see after the call ("does not modify its inputs") arrive as views
into a shared memory arena (the marker ``__shared__``: offset, dtype, shape), which the grading
process reads back itself: nothing the child reports about its inputs is trusted.
"""

from __future__ import annotations

import ast
import mmap
import os
import signal
import sys
import traceback

if not __package__:  # started as a script inside the jail, next to its copy of wire.py
    sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), "/opt/gd/site"]

import numpy as np  # noqa: E402

if __package__:
    from .. import wire
else:
    import wire

# the codec's names, used bare below
RemoteError = wire.RemoteError
Rng = wire.Rng
Unencodable = wire.Unencodable
decode = wire.decode
encode = wire.encode
encode_result = wire.encode_result
roundtrip = wire.roundtrip

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
    """Where in the student's cells the error happened, e.g. ``cell 7, line 3`` (cells counted from 1, as the
    notebook's banners count them: ``run_cells`` names each cell's code so)."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<cell "):
            where = f"{frame.filename.strip('<>')}, line {frame.lineno}"
    return where


def describe_exception(exc: BaseException) -> dict:
    """The exception as plain, short text (the grading process cleans it again)."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "(no message)"
    return {
        "type": wire.clean_text(type(exc).__name__, 60),
        "message": wire.clean_text(message),
        "where": wire.clean_text(student_frames_summary(exc), 60),
    }


def run_cells(namespace: dict, cells: list, cell_seconds: float, resp_fd: int) -> list:
    report = []
    for cell in cells:
        wire.write_message(resp_fd, {"op": "cell_start", "index": cell["index"]})
        entry = {"index": cell["index"], "status": "ok"}
        try:
            name = f"<cell {cell['index'] + 1}>"  # 1-based, as Jupyter users count
            tree = ast.parse(_strip_magics(cell["source"]), filename=name)
            if cell["mode"] == "defs":
                tree = _definitions_only(tree)
            code = compile(tree, name, "exec")
            signal.setitimer(signal.ITIMER_PROF, cell_seconds)
            try:
                exec(code, namespace)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except _TimeUp:
            entry = {"index": cell["index"], "status": "timeout"}
        except SyntaxError as exc:
            entry = {
                "index": cell["index"],
                "status": "error",
                "type": "SyntaxError",
                "message": wire.clean_text(exc.msg),
                "where": f"cell {cell['index'] + 1}, line {exc.lineno}",
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
    graded on its own."""
    fn = namespace.get(fn_name)
    if fn is None:
        raise LookupError(fn_name)
    if not callable(fn):
        raise TypeError(f"{fn_name} is a {type(fn).__name__}, not a function")
    fn_globals = getattr(fn, "__globals__", namespace)
    if not isinstance(fn_globals, dict):
        fn_globals = namespace
    saved = {name: fn_globals[name] for name in standins if name in fn_globals}
    fn_globals.update(standins)
    try:
        # a generator runs only as it is read: read it here, with the stand-ins and the timer in place
        return wire.read_out(fn(*args, **kwargs))
    finally:
        for name in standins:
            fn_globals.pop(name, None)
        fn_globals.update(saved)


class _Channel:
    """The child's end of the conversation during one call: proxies for the grader's
    callables, and the student's own callables that our stand-ins may call back."""

    def __init__(self, reader: wire.Reader, resp_fd: int, arena: mmap.mmap | None):
        self.reader = reader
        self.req_fd = reader.fd
        self.resp_fd = resp_fd
        self.arena = arena
        self.local: list = []  # the student's callables handed to a stand-in (this call only)
        self.generators: list = []

    def proxy(self, cb: int):
        channel = self

        def proxy(*args, **kwargs):
            return channel.callback(cb, args, kwargs)

        proxy.__gd_callback__ = cb
        return proxy

    def _out_hook(self, obj):
        """How objects of this process travel in a callback's arguments."""
        cb = getattr(obj, "__gd_callback__", None) if callable(obj) else None
        if isinstance(cb, int):
            return wire.CallbackRef(cb)  # the grader's own callable, going home
        if isinstance(obj, np.random.Generator):
            self.generators.append(obj)  # in the order the grading process will decode them
            return wire.Marker("__generator__", encode_result(obj.bit_generator.state))
        if callable(obj) and not isinstance(obj, type):
            self.local.append(obj)
            return wire.Marker("__childfn__", encode(len(self.local) - 1))
        return None

    def _in_hook(self, tag: str, value):
        if tag == "__shared__" and self.arena is not None:
            offset, dtype, shape = int(value[0]), np.dtype(str(value[1])), tuple(int(s) for s in value[2])
            if dtype.kind not in wire.SAFE_KINDS:
                raise TypeError("refusing dtype")
            count = int(np.prod(shape, dtype=np.int64))
            return np.frombuffer(self.arena, dtype=dtype, count=count, offset=offset).reshape(shape)
        raise ValueError("malformed message")

    def decode(self, message: wire.Message, name: str, default=None):
        """The field ``name`` of ``message``, with the grader's callables as proxies."""
        return message.value(name, default, make_callback=self.proxy, make_rng=np.random.default_rng, hook=self._in_hook)

    def callback(self, cb: int, args: tuple, kwargs: dict):
        self.generators = generators = []
        try:
            request = {"op": "callback", "cb": cb, "args": encode(list(args), hook=self._out_hook)}
            if kwargs:  # mostly none: a field less to write and read
                request["kwargs"] = encode(dict(kwargs), hook=self._out_hook)
        except (TypeError, ValueError) as exc:
            raise RemoteError(f"cannot pass these arguments: {exc}") from None
        wire.write_message(self.resp_fd, request)
        while True:
            reply = self.reader.message()
            if reply.op == "child_call":
                self._answer_child_call(reply)
                continue
            if reply.op == "callback_error":
                raise RemoteError(str(reply.value("message", "callback failed")))
            if generators:  # our stand-in may have drawn from their generator: it goes on where ours stopped
                self._catch_up(generators, reply)
            return self.decode(reply, "value")

    @staticmethod
    def _catch_up(generators: list, reply: wire.Message) -> None:
        try:
            states = reply.value("generators") or []
        except (TypeError, ValueError):
            states = []
        for gen, state in zip(generators, states):
            try:
                gen.bit_generator.state = state
            except (TypeError, ValueError, KeyError):
                pass

    def _answer_child_call(self, request: wire.Message) -> None:
        try:
            fn = self.local[int(request.value("ref"))]
            value = fn(*self.decode(request, "args"))
            reply = {"op": "child_result", "value": encode_result(value, hook=self._out_hook)}
        except _TimeUp:
            raise
        except BaseException as exc:  # noqa: BLE001 - reaches our stand-in as a failure
            reply = {"op": "child_error", **describe_exception(exc)}
        wire.write_message(self.resp_fd, reply)


def serve(req_fd: int, resp_fd: int) -> None:
    # CPU time, not wall time: a child starved by a loaded machine (a classmate's fork bomb) is
    # not out of time; sleeping is bounded by the grading process's wall-clock deadline.
    signal.signal(signal.SIGPROF, _on_alarm)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "__LazyModule__": LazyModule}
    reader = wire.Reader(req_fd)
    arena = None
    while True:
        try:
            request = reader.message()
        except EOFError:
            return
        if request.op == "load":
            where = request.value("arena")
            if where is not None:
                arena = mmap.mmap(int(where[0]), int(where[1]), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            report = run_cells(namespace, request.value("cells"), request.value("cell_seconds"), resp_fd)
            names = {
                wire.clean_text(k, 60): ("function" if callable(v) else wire.clean_text(type(v).__name__, 60))
                for k, v in list(namespace.items())[:2000]
                if isinstance(k, str) and not k.startswith("__")
            }
            wire.write_message(resp_fd, {"op": "loaded", "cells": report, "names": names})
        elif request.op == "call":
            wire.write_message(resp_fd, _answer_call(namespace, request, _Channel(reader, resp_fd, arena)))
        elif request.op == "exit":
            return


def _answer_call(namespace, request: wire.Message, channel: _Channel) -> dict:
    fn = request.value("fn")
    args = channel.decode(request, "args")
    kwargs = channel.decode(request, "kwargs")
    standins = {str(name): channel.proxy(int(cb)) for name, cb in (request.value("standins") or {}).items()}
    global_seed = request.value("global_seed")
    if global_seed is not None:
        np.random.seed(global_seed)
        import random

        random.seed(global_seed)
    signal.setitimer(signal.ITIMER_PROF, float(request.value("seconds", 10)))
    try:
        value = invoke(namespace, fn, args, kwargs, standins)
    except LookupError as exc:
        if exc.args == (fn,):
            return {"op": "missing"}
        return {"op": "error", **describe_exception(exc)}
    except _TimeUp:
        return {"op": "timeout"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt... all cost only this call
        return {"op": "error", **describe_exception(exc)}
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return {"op": "result", "value": encode_result(value)}


def main() -> None:
    # The protocol's pipes are fd 0 and 1; the student's prints go to fd 2, like their errors.
    req_fd, resp_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    ours = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p != ours]  # our code is not theirs to import
    sys.path.insert(0, os.getcwd())
    # plots go nowhere: MPLBACKEND=Agg, so plt.show() never opens a window
    serve(req_fd, resp_fd)


if __name__ == "__main__":
    main()
