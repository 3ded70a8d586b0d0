"""The grader's side of the learner's process (``worker.py``): start it, load a file, call a
function under a time limit, and read the answer back without trusting it.

``Outcome`` is what a call gave: a value (plain data, see ``worker.plain``) or what went
wrong (``problem``) and the learner's ``file:line``.  A timeout or a crash ends the process;
the next call starts a fresh one (and loads the file again).
"""

from __future__ import annotations

import io
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: the folder that holds the cnn_numpy package, so the process finds it from any folder
PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
#: seconds the process gets past the limit to report its own timeout (then it is killed)
GRACE = 3.0
#: seconds a new process may take to start Python and import NumPy on a busy machine
STARTUP = 30.0


class _SafeUnpickler(pickle.Unpickler):
    """Answers hold tuples, lists, strings, bytes and numbers only: no class is rebuilt."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"the answer holds a {module}.{name}")


def decode(value):
    """A tagged plain value with its arrays rebuilt from (dtype, shape, bytes)."""
    if not isinstance(value, tuple) or not value:
        return value
    if value[0] == "array":
        _, dtype, shape, data = value
        array = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
        return ("array", array)
    if value[0] in ("tuple", "list"):
        return (value[0], [decode(v) for v in value[1]])
    if value[0] == "pair":
        return ("pair", decode(value[1]))
    return value


@dataclass
class Outcome:
    value: object = None  # plain data, as worker.plain tags it
    problem: str | None = None  # None: the call returned
    where: str | None = None  # the learner's file:line
    seconds: float = 0.0
    changed: tuple[str, ...] = ()  # the arguments the call changed in place

    @property
    def ok(self) -> bool:
        return self.problem is None


class Sandbox:
    """One learner file, run in its own process."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.process = None
        self.load_problem: Outcome | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process.wait()
            self.process.stdin.close()  # stdout is pump's: closing it would wait for its read,
            self.process = None  # for ever while a process the learner's code started holds it

    def start(self, limit: float) -> Outcome:
        """A fresh process with the file loaded (importing it runs it: under the limit)."""
        self.close()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cnn_numpy.tools.exercises.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=PACKAGE_ROOT,  # not the workbook: its random.py would shadow the standard
            # library's as the process starts (it moves there as it loads the file)
            start_new_session=True,  # a group of its own, so that stop() ends what it starts
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])
                ),
            },
        )
        self.answers = queue.Queue()
        threading.Thread(target=pump, args=(self.process.stdout, self.answers), daemon=True).start()
        return self.ask(("load", self.path, limit), limit, slack=GRACE + STARTUP)

    def call(self, name: str, args, kwargs=None, keep=None, cache=None, limit=10.0) -> Outcome:
        """``name(*args, [cached], **kwargs)``; ``keep``: the function returns (value, cache):
        keep the cache under that key in the process ("" to drop it) and send the value."""
        if self.load_problem is not None:
            return self.load_problem
        if self.process is None:
            loaded = self.start(limit)
            if not loaded.ok:
                self.load_problem = loaded
                return loaded
        return self.ask(("call", name, tuple(args), kwargs or {}, keep, cache, limit), limit)

    def ask(self, request, limit: float, slack: float = GRACE) -> Outcome:
        start = time.monotonic()
        try:
            data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.write(len(data).to_bytes(8, "big") + data)
            self.process.stdin.flush()
            answer = self.read(start + limit + slack)
        except (TimeoutError, EOFError, OSError, pickle.UnpicklingError) as err:
            answer = self.lost(err)
        seconds = time.monotonic() - start
        kind = answer[0]
        if kind == "ok":
            changed = tuple(str(name) for name in answer[2]) if len(answer) > 2 else ()
            return Outcome(value=decode(answer[1]), seconds=seconds, changed=changed)
        self_ended = kind in ("timeout", "died", "unreadable")
        if self_ended:
            self.close()
        problems = {
            "raised": lambda: answer[1],
            "timeout": lambda: f"stopped after {limit:g} s (an endless loop?)",
            "missing": lambda: "is not defined in the file (or is not a function)",
            "died": lambda: answer[1],
            "unreadable": lambda: answer[1],
        }
        where = answer[2] if kind == "raised" else answer[1] if kind == "timeout" else None
        return Outcome(problem=problems[kind](), where=where, seconds=seconds)

    def lost(self, err: BaseException) -> tuple:
        if isinstance(err, TimeoutError):
            return ("timeout", None)
        if isinstance(err, pickle.UnpicklingError):
            return ("unreadable", f"returned something the grader cannot read ({err})")
        try:  # its output has ended: wait the moment the system takes to record its status
            code = self.process.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            code = None
        status = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return ("died", f"ended the process that ran it ({status}; os._exit, or a crash?)")

    def read(self, deadline: float) -> tuple:
        try:
            data = self.answers.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            raise TimeoutError from None
        if data is None:
            raise EOFError
        return _SafeUnpickler(io.BytesIO(data)).load()


def stop(process: subprocess.Popen) -> None:
    """Kill the learner's process and the processes its code started (``os.fork``,
    ``multiprocessing``), which would otherwise run on, holding its pipes open."""
    if hasattr(os, "killpg"):  # POSIX: the process leads a group of its own
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:  # the group has ended already
            pass
    process.kill()


def pump(stream, answers: queue.Queue) -> None:
    """Read the process's answers (an 8-byte length, then the pickle) as they come, into
    ``answers``; None when it ends.  A thread, so that waiting for an answer can time out
    on every system (``select`` on pipes is POSIX only)."""
    try:
        while len(header := stream.read(8)) == 8:
            answers.put(stream.read(int.from_bytes(header, "big")))
    except (OSError, ValueError):  # a read that fails: the process was stopped
        pass
    stream.close()
    answers.put(None)
