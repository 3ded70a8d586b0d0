"""The first thing every learner runs, measured end to end: ``cnn-numpy train --dataset mnist``.

    python benchmarks/first_run.py --data-dir /path/to/mnist
    python benchmarks/first_run.py --data-dir D --against /tmp/old --runs 3   # side by side
    python benchmarks/first_run.py --data-dir D --phases   # and the peak between its lines

Each run is the command with its defaults, as a user types it (only ``--data-dir`` and a
temporary ``--out`` added), in a fresh process: wall time from start to exit, the number of
epochs, the last epoch's test accuracy, and the peak resident memory of the whole process
tree (the command and any worker processes it starts: the largest sum of their RSS, sampled
every 20 ms, and at least the kernel's own peak of the largest process).  ``--against DIR``
runs the same command from the cnn-numpy source tree in DIR (e.g. ``git worktree add /tmp/old
f532e17``) alternately with this one, so both see the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_train import checkout

from cnn_numpy.tools.cli.common import int_in

ROOT = Path(__file__).resolve().parents[1]


def tree_rss_mb(pid: int) -> float:
    """The resident memory of ``pid`` and all its descendants, MB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        found = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
        rss[int(entry.name)] = int(found.group(1)) if found else 0
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total / 1024


def run_once(src: Path, data_dir: str, extra: list[str]) -> dict:
    """One run of the default command from the cnn-numpy in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "cnn_numpy", "train", "--dataset", "mnist"]
        cmd += ["--data-dir", data_dir, "--out", str(Path(out) / "run"), *extra]
        start = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        peak, since_line, done = 0.0, 0.0, threading.Event()

        def sample() -> None:
            nonlocal peak, since_line
            while not done.is_set():
                rss = tree_rss_mb(process.pid)
                peak, since_line = max(peak, rss), max(since_line, rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines, phases = [], []  # phases: (the line that ended it, seconds, peak MB while it ran)
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            lines.append(line)
            phases.append((line.split(" |")[0][:40], time.perf_counter() - start, since_line))
            since_line = tree_rss_mb(process.pid)  # the next part starts from what is held now
        output = "\n".join(lines)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{output[-2000:]}")
    accs = re.findall(r"test_acc=([0-9.]+)", output)
    return {
        "wall_s": wall,
        "epochs": len(accs),
        "test_acc": float(accs[-1]) if accs else float("nan"),
        "peak_rss_mb": max(peak, usage.ru_maxrss / 1024),
        "settings": next((ln for ln in output.splitlines() if ln.startswith("Model:")), ""),
        "phases": phases,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the folder with MNIST's IDX files")
    parser.add_argument(
        "--against", type=checkout, help="an older checkout, run alternately with this one"
    )
    parser.add_argument("--runs", type=int_in(1), default=1, help="runs of each")
    parser.add_argument(
        "--phases", action="store_true", help="also the peak memory between output lines"
    )
    parser.add_argument("extra", nargs="*", help="more flags for both (after --)")
    args = parser.parse_args(argv)
    trees = {"this": ROOT / "src"}
    if args.against:
        trees["older"] = args.against / "src"
    print(f"load average at the start: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print("| tree | run | wall s | epochs | test acc | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in range(args.runs):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for name in order:
            res = run_once(trees[name], args.data_dir, args.extra)
            print(
                f"| {name} | {r + 1} | {res['wall_s']:.1f} | {res['epochs']} | "
                f"{res['test_acc']:.4f} | {res['peak_rss_mb']:.0f} |",
                flush=True,
            )
            if r == 0:
                print(f"|   ({name}: {res['settings']}) | | | | | |", flush=True)
            if args.phases:  # which part of the run holds the most memory
                for label, seconds, mb in res["phases"]:
                    print(f"|   until {label!r} | | {seconds:.1f} | | | {mb:.0f} |", flush=True)
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
