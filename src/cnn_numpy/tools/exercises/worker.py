"""The process that runs a learner's code for the grader (``python -m
cnn_numpy.tools.exercises.worker``), so that nothing the code does can break the grader.

Messages both ways are an 8-byte length and a pickle.  Requests come on what was stdin,
answers go back on what was stdout; both are then pointed at /dev/null (the learner's prints
or ``input()`` would garble them).  Each call runs under a time limit: a watchdog thread that, when the
limit passes, answers ``("timeout", where)`` with the line the code was running, and ends
the process.  Answers hold plain values only (``plain``): arrays of numbers, numbers, tuples,
lists, None, or a description of anything else.
"""

from __future__ import annotations

import inspect
import os
import pickle
import sys
import threading
import traceback
from pathlib import Path

import numpy as np

from .source import load_source

_send_lock = threading.Lock()


def read_message(stream) -> object:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    return pickle.loads(stream.read(int.from_bytes(header, "big")))


def send(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    with _send_lock:
        view = memoryview(len(data).to_bytes(8, "big") + data)
        while view:
            view = view[os.write(fd, view) :]


def plain(value, depth: int = 0):
    """``value`` as tagged plain data the grader can read without running any code."""
    if isinstance(value, np.floating) and value.itemsize < 8:  # np.float32(loss): its dtype
        value = np.asarray(value)  # is kept, so the grader can say it lost digits
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        value = np.asarray(value, order="C")  # (np.ascontiguousarray makes a 0-d array 1-d)
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (bool, np.bool_)):
        return ("other", type(value).__name__, repr(value)[:80])
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ("number", float(value))
    if value is None:
        return ("none",)
    if isinstance(value, (tuple, list)) and depth < 2 and len(value) <= 8:
        return (type(value).__name__, [plain(v, depth + 1) for v in value])
    shape = f" of shape {value.shape} and dtype {value.dtype}" if hasattr(value, "dtype") else ""
    return ("other", type(value).__name__ + shape, repr(value)[:80])


def arrays_given(fn, args, kwargs, skip) -> dict[str, np.ndarray]:
    """The arrays among a call's arguments, by the function's own parameter names (``skip``:
    the cache, the learner's own object)."""
    try:
        named = inspect.signature(fn).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):  # a signature that does not fit: the call will say so
        named = {**{f"argument {k + 1}": a for k, a in enumerate(args)}, **kwargs}
    return {
        name: value
        for name, value in named.items()
        if isinstance(value, np.ndarray) and value is not skip
    }


def learner_line(tb_or_frames, path: str) -> str | None:
    """``file:line`` of the innermost frame in the learner's file, if there is one."""
    where = None
    for frame, line in tb_or_frames:
        if os.path.abspath(frame.f_code.co_filename) == path:
            where = f"{path}:{line}"
    return where


class Worker:
    def __init__(self, out_fd: int):
        self.out_fd, self.module, self.path, self.caches = out_fd, None, None, {}

    def run_limited(self, fn, limit: float):
        """``fn()``, or a timeout answer and the end of this process after ``limit`` seconds."""
        done, main = threading.Event(), threading.get_ident()

        def watch():
            if not done.wait(limit):
                frame = sys._current_frames().get(main)
                frames = traceback.walk_stack(frame) if frame is not None else []
                send(self.out_fd, ("timeout", learner_line(list(frames), self.path)))
                os._exit(3)

        threading.Thread(target=watch, daemon=True).start()
        try:
            return fn()
        finally:
            done.set()

    def failure(self, err: BaseException) -> tuple:
        if isinstance(err, SyntaxError) and err.filename:
            where = f"{os.path.abspath(err.filename)}:{err.lineno}"
            return ("raised", f"SyntaxError: {err.msg}", where)
        frames = list(traceback.walk_tb(err.__traceback__))
        message = f"{type(err).__name__}: {err}".rstrip(": ")
        if type(err).__name__ == "BdbQuit":  # pdb read the end of its (empty) input
            message = (
                "BdbQuit: a breakpoint() or pdb.set_trace() stopped it, and the grader runs "
                "your code with no debugger to answer it: take it out to be graded"
            )
        return ("raised", message[:400], learner_line(frames, self.path))

    def load(self, path: str, limit: float) -> tuple:
        self.path = os.path.abspath(path)
        os.chdir(os.path.dirname(self.path))  # its own files, by relative names
        sys.path.insert(0, os.path.dirname(self.path))  # its own helper modules, if any
        name = f"workbook_{Path(path).stem}"
        self.module = self.run_limited(lambda: load_source(self.path, name), limit)
        return ("ok", None)

    def call(self, name, args, kwargs, keep, cache, limit) -> tuple:
        fn = getattr(self.module, name, None)
        if not callable(fn):
            return ("missing", None)
        cached = self.caches[cache] if cache is not None else None
        if cache is not None:
            args = (*args, cached)
        given = arrays_given(fn, args, kwargs, skip=cached)
        before = {name: value.copy() for name, value in given.items()}
        result = self.run_limited(lambda: fn(*args, **kwargs), limit)
        changed = [  # the arrays it was given must come back as they were
            name
            for name, value in given.items()
            if not np.array_equal(value, before[name], equal_nan=value.dtype.kind == "f")
        ]
        if keep is not None and isinstance(result, (tuple, list)) and len(result) == 2:
            if keep:
                self.caches[keep] = result[1]
            return ("ok", ("pair", plain(result[0])), changed)
        return ("ok", plain(result), changed)

    def answer(self, request) -> tuple:
        kind, *rest = request
        try:
            return self.load(*rest) if kind == "load" else self.call(*rest)
        except BaseException as err:  # the learner's code may raise anything, SystemExit too
            return self.failure(err)

    def serve(self, stream) -> None:
        while True:
            try:
                request = read_message(stream)
            except EOFError:
                return
            send(self.out_fd, self.answer(request))


def main() -> None:
    out_fd, in_fd = os.dup(1), os.dup(0)  # the answers' and the requests' channels
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the learner's prints go nowhere
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # and input() reads nothing of the requests
    sys.stdout, sys.stdin = open(1, "w", closefd=False), open(0, closefd=False)
    sys.setrecursionlimit(10_000)
    Worker(out_fd).serve(os.fdopen(in_fd, "rb"))


if __name__ == "__main__":
    main()
