"""benchmarks/bench_resnet.py and benchmarks/skip_gradients.py run, so they cannot rot."""

import re
from pathlib import Path

import numpy as np
import pytest
from helpers.benchmark_scripts import load_script

import cnn_numpy

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def test_skip_gradients_shows_the_plain_nets_gradient_vanish(capsys, tmp_path):
    assert (
        load_script("skip_gradients").main(["--seeds", "1", "--plot", str(tmp_path / "g.png")]) == 0
    )
    out = capsys.readouterr().out
    ratios = {
        line.split(":")[0]: float(line.rsplit("=", 1)[1])
        for line in out.splitlines()
        if "first conv / last conv" in line
    }
    assert ratios["plain"] < 1e-4 < 0.05 < ratios["residual"]
    assert (tmp_path / "g.png").stat().st_size > 1000


def rounds_to(shown: str, printed: str) -> bool:
    """``shown`` (two digits, 1.7e-02) is ``printed`` (three, 1.75e-02) rounded: within half
    a unit of its last digit, and of the printed one's (which was rounded too)."""
    unit = 10.0 ** int(shown.split("e")[1])
    return abs(float(shown) - float(printed)) <= 0.055 * unit


def test_the_skip_connections_page_shows_what_skip_gradients_measures(capsys):
    """docs/why-skip-connections-work.md's table and ratio are the script's output with its
    defaults (they went stale when the synthetic lines changed: 9.3e-11 where it measured
    1.2e-10)."""
    assert load_script("skip_gradients").main([]) == 0
    out = capsys.readouterr().out
    measured = {
        int(cells[0]): cells[1:]
        for line in out.splitlines()
        if (cells := [c.strip() for c in line.strip("|").split("|")])[0].isdigit()
    }
    page = (BENCHMARKS.parent / "docs" / "why-skip-connections-work.md").read_text()
    header = re.search(r"^\| conv layer \| 1 .*$", page, re.M).group(0)
    layers = [int(c.split()[0]) for c in header.strip("|").split("|")[1:]]
    for name, column in (("plain", 0), ("residual", 1)):
        row = re.search(rf"^\| {name} \|(.*)\|$", page, re.M).group(1)
        shown = [c.strip() for c in row.split("|")]
        printed = [measured[k][column] for k in layers]
        assert all(map(rounds_to, shown, printed)), f"{name}: page {shown}, measured {printed}"
    ratio = float(re.search(r"plain: first conv / last conv gradient norm = (\S+)", out)[1])
    mantissa, exponent = f"{ratio:.0e}".split("e")
    assert f"the first layer gets ${mantissa} \\cdot 10^{{{int(exponent)}}}$" in page


def test_bench_resnet_prints_its_tables(capsys):
    pytest.importorskip("torch")
    assert load_script("bench_resnet").main(["--rounds", "1", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "| numpy resnet |" in out and "| torch resnet |" in out
    assert "resnet training speed, cnn-numpy / PyTorch" in out
    assert "| rotate-shift |" in out


def test_bench_resnet_times_the_resnet_of_blocks_stages(capsys):
    pytest.importorskip("torch")
    bench = load_script("bench_resnet")
    assert bench.main(["--rounds", "1", "--repeat", "1", "--only", "speed", "--blocks", "3"]) == 0
    out = capsys.readouterr().out
    assert "(the resnet of 3 basic blocks)" in out
    # the children built the 3-stage net too: its products are 1.6x the 2-stage net's
    three = sum(m * k * n for _, m, k, n in bench.products(bench.NETS["resnet"]()))
    bench.STAGES = 2
    two = sum(m * k * n for _, m, k, n in bench.products(bench.NETS["resnet"]()))
    assert three > 1.3 * two


def test_profile_layers_times_each_layer_inside_the_residual_blocks():
    import numpy as np

    profile = load_script("profile_layers")
    model = profile.NETS["resnet"]()
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 4)
    times = profile.time_layers(model, x, y, steps=2)
    assert "3.block.0 Conv2d(16, 32, 3, s2) backward" in times
    assert "5.shortcut.1 BatchNorm2d(64) forward" in times
    assert all(len(v) == 2 and min(v) >= 0 for v in times.values())
    assert "forward" not in vars(model[3].block[0])  # the layers are left as they were


def test_bench_conv_tricks_times_col2im_both_ways_and_leaves_long_row_as_it_was():
    from cnn_numpy.layers import speed

    script = load_script("bench_conv_tricks")
    before = speed.LONG_ROW
    buffered, in_place = script.col2im_timings(4, 6, 1, 64, 2, np.random.default_rng(0))
    assert buffered > 0 and in_place > 0
    assert speed.LONG_ROW == before


def test_winograd_trial_equals_conv2d_and_notices_a_wrong_transform(monkeypatch):
    script = load_script("winograd_trial")
    script.agree(np.float64, 1e-12)  # forward, dx, dw, db equal Conv2d's, odd and even sizes
    script.agree(np.float32, 1e-5)
    wrong = script.BT.copy()
    wrong[1, 2] = -1  # one sign of the input transform
    monkeypatch.setattr(script, "BT", wrong)
    with pytest.raises(AssertionError, match="differs from Conv2d"):
        script.agree(np.float64, 1e-12)


@pytest.mark.parametrize("net", ["seed", "lenet", "resnet"])
def test_torch_twin_of_each_profiled_net_gives_our_output(net):
    # bench_train.py --profile builds the LeNet's twin (it once had no MaxPool2d and crashed)
    torch = pytest.importorskip("torch")
    model = load_script("profile_layers").NETS[net]()
    twin = load_script("bench_resnet").torch_twin(model)
    model.eval(), twin.eval()
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    ours, theirs = model(x), twin(torch.from_numpy(x)).detach().numpy()
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


def test_profiled_layers_are_named_whole_never_a_cut_repr():
    """profile_layers.py and bench_resnet.py --products name each layer by its arguments; a
    repr cut at 40 characters once read ``Linear(in_features=1568, out_features=12``."""
    from cnn_numpy.layers import AvgPool2d, Conv2d, Linear, MaxPool2d

    short = load_script("profile_layers").short
    assert short(Linear(1568, 128)) == "Linear(1568, 128)"
    assert short(MaxPool2d(2)) == "MaxPool2d(2)" and short(MaxPool2d(3, 1)) == "MaxPool2d(3, s1)"
    assert short(AvgPool2d(2)) == "AvgPool2d(2)"
    assert short(Conv2d(16, 32, 3, stride=2, padding=1)) == "Conv2d(16, 32, 3, s2)"
    names = [what for what, *_ in load_script("bench_resnet").products(cnn_numpy.resnet(rng=0))]
    assert "Linear(64, 10) forward" in names and all("=" not in name for name in names)
