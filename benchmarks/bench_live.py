"""Does `cnn-numpy train --live` slow training down?  (The issue allows at most 5%.)

    python benchmarks/bench_live.py --data-dir ../shared/data              # MNIST, LeNet
    python benchmarks/bench_live.py --data-dir DIR --browser              # a page open too

Trains LeNet (Adam 3e-3, batch 32, as `cnn-numpy train --dataset mnist`) for one pass over
--limit MNIST images, in rounds that alternate two runs in changing order: plain ``fit``,
and ``fit`` with --live's hooks while the server runs and a client follows GET /events (with
--browser: headless Chromium showing the page, drawing its curves, on the same cores).
Prints, for each run, the wall-clock seconds and the CPU seconds of the training process
(its server threads included), and the medians of the paired ratios live / plain.  On a busy
machine the wall clock swings by tens of percent from run to run whatever runs; the CPU
time, which other processes do not inflate, shows what --live itself costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from cnn_numpy import Adam, CrossEntropyLoss, fit, keep_freed_memory, lenet
from cnn_numpy.data import normalization_stats, normalize
from cnn_numpy.data.datasets import load_dataset
from cnn_numpy.tools.cli.common import int_in
from cnn_numpy.tools.live import LiveTraining
from cnn_numpy.tools.speed.workers import blas_threads

LIMIT_PERCENT = 5


FOLLOW = """
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
connection.request("GET", "/events")
response = connection.getresponse()
while response.read1(65536):
    pass
"""


def follow(port: int) -> subprocess.Popen:
    """A client reading every event, in its own process, as a browser is."""
    return subprocess.Popen([sys.executable, "-c", FOLLOW, str(port)])


def open_browser(url: str, profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.get(url)
    return driver


def cpu_seconds() -> float:
    """CPU time of this process so far (all its threads), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_run(train, live: bool, browser: bool, seed: int) -> tuple[float, float]:
    """Wall and CPU seconds of one fit over ``train`` (the server's start and stop and the
    client's start are not timed)."""
    model = lenet(rng=seed)
    optimizer = Adam(model.parameters(), lr=3e-3)
    callbacks, session, driver, reader, profile = [], None, None, None, None
    batches = -(-len(train[0]) // 32)
    if live:
        session = LiveTraining(
            "127.0.0.1", 0, model, optimizer, epochs=1, batches=batches, title="benchmark"
        ).start()
        callbacks = [session]
        if browser:
            profile = tempfile.mkdtemp(prefix="bench-live-chromium-")
            driver = open_browser(session.url, profile)
            time.sleep(2)  # the page is up and following
        else:
            reader = follow(session.server.port)
            time.sleep(1)  # connected and following
    try:
        start, cpu = time.perf_counter(), cpu_seconds()
        fit(
            model,
            CrossEntropyLoss(),
            optimizer,
            train,
            epochs=1,
            batch_size=32,
            rng=seed,
            callbacks=callbacks,
        )
        return time.perf_counter() - start, cpu_seconds() - cpu
    finally:
        if driver is not None:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
        if session is not None:
            session.close()
        if reader is not None:
            reader.wait(timeout=30)  # the stream ended with the server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("CNN_NUMPY_DATA"))
    parser.add_argument("--limit", type=int_in(1), default=10_000, help="training images a run")
    parser.add_argument("--rounds", type=int_in(1), default=5)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads for training (default: NumPy's choice)",
    )
    parser.add_argument(
        "--browser",
        action="store_true",
        help="also keep the page open in headless Chromium during live runs",
    )
    args = parser.parse_args()
    keep_freed_memory()  # as `cnn-numpy train` does: no page faults between steps
    try:
        (X, y), _ = load_dataset("mnist", args.data_dir, download=False)
    except (OSError, ValueError) as err:  # the library's message, not a traceback
        raise SystemExit(f"error: {err}") from None
    X, y = X[: args.limit], y[: args.limit]
    train = (normalize(X, **normalization_stats(X)), y)
    what = "page open in Chromium" if args.browser else "one client following /events"
    print(f"LeNet, Adam, batch 32, {len(X)} MNIST images a run; live = hooks + server + {what}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    one_run((train[0][:640], train[1][:640]), live=True, browser=False, seed=0)  # warm-up
    wall, cpu = [], []
    for r in range(args.rounds):
        order = ("plain", "live") if r % 2 == 0 else ("live", "plain")
        with blas_threads(args.threads):
            seconds = {kind: one_run(train, kind == "live", args.browser, seed=r) for kind in order}
        (plain_wall, plain_cpu), (live_wall, live_cpu) = seconds["plain"], seconds["live"]
        wall.append(live_wall / plain_wall)
        cpu.append(live_cpu / plain_cpu)
        print(
            f"round {r + 1}: plain {plain_wall:.2f} s ({plain_cpu:.2f} s CPU), live "
            f"{live_wall:.2f} s ({live_cpu:.2f} s CPU): live/plain {wall[-1]:.3f} wall, "
            f"{cpu[-1]:.3f} CPU",
            flush=True,
        )
    for name, ratios in (("wall clock", wall), ("CPU time", cpu)):
        median = statistics.median(ratios)
        verdict = "met" if median <= 1 + LIMIT_PERCENT / 100 else "NOT met"
        print(
            f"median live/plain, {name}: {median:.3f} ({100 * (median - 1):+.1f}%; limit "
            f"+{LIMIT_PERCENT}%: {verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
