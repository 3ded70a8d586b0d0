"""What a page says a snippet prints is what it prints; every link into a page finds its heading.

A page shows an output as the comment after a ``print(...)``: on the print's own line, or as
the comment lines right after the call. The tour pages, the doctor's page and the pictures'
page are run block by block (one session per page, as tests/docs/test_docs.py runs them),
each block's output captured, and every such comment must be in it. Numbers are compared
with room for another CPU's rounding: one unit in the last digit shown, a factor of 2 for a
number in e-notation (rounding errors near 1e-10 differ from CPU to CPU); words exactly.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"
#: the pages a teacher projects: their printed outputs are checked
PAGES = sorted(DOCS.glob("[0-9][0-9]-*.md")) + [
    DOCS / "when-training-goes-wrong.md",
    DOCS / "visualize.md",
    DOCS / "why-skip-connections-work.md",
    DOCS / "exercises.md",
]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
NUMBER = re.compile(r"^[-+±]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$")


def python_blocks(page: Path) -> list[str]:
    return [
        body
        for lang, body in FENCE.findall(page.read_text())
        if lang == "python" and not body.startswith("# excerpt:")
    ]


def claimed_outputs(source: str) -> list[str]:
    """The comments that show what a block's print calls print, in order."""
    claims, depth, after_print = [], 0, False
    for line in source.splitlines():
        code, _, comment = line.partition("#")
        stripped = line.strip()
        if stripped.startswith("#"):
            if after_print:
                claims.append(stripped.lstrip("#").strip())
            continue
        in_print = depth > 0 or re.match(r"\s*print\(", line) is not None
        if in_print:
            depth += code.count("(") - code.count(")")
            if comment.strip():
                claims.append(comment.strip())
        after_print = in_print and depth <= 0
        depth = max(depth, 0)
    return claims


def same_token(shown: str, printed: str) -> bool:
    if shown == printed:
        return True
    if not (NUMBER.match(shown) and NUMBER.match(printed)):
        return False
    a, b = (float(t.strip("%±+")) for t in (shown, printed))
    if "e" in shown:
        return a == b == 0 or (a * b > 0 and 0.5 <= a / b <= 2)
    decimals = len(shown.split(".")[1].rstrip("%")) if "." in shown else 0
    return abs(a - b) <= 10.0**-decimals + 1e-12


def shown_in(claim: str, output: str) -> bool:
    """Whether the words and numbers of ``claim`` appear, in a row, in one printed line."""
    split = lambda text: re.findall(r"[-+±]?\d[\d.]*(?:e[-+]?\d+)?%?|[^\s\d]+", text)  # noqa: E731
    wanted = split(claim)
    for line in output.splitlines():
        tokens = split(line)
        for start in range(len(tokens) - len(wanted) + 1):
            if all(same_token(w, t) for w, t in zip(wanted, tokens[start:])):
                return True
    return False


def pages_with_claims() -> list[Path]:
    return [page for page in PAGES if any(claimed_outputs(b) for b in python_blocks(page))]


def test_the_claims_are_found_and_compared():
    source = 'print(f"{a:.1f}")   # 25.4 vs ln 3\nfor x in y:\n    print(x,\n          z)\n# 1 2\n'
    assert claimed_outputs(source) == ["25.4 vs ln 3", "1 2"]
    assert shown_in("25.4 vs ln 3 = 1.10", "25.4 vs ln 3 = 1.10\n")
    assert not shown_in("25.4 vs ln 3 = 1.10", "25.6 vs ln 3 = 1.10")
    assert shown_in("per element 9.9e-02", "per element 1.2e-01")
    assert not shown_in("per element 9.9e-02", "per element 9.9e-05")
    assert len(pages_with_claims()) >= 6


@pytest.mark.parametrize("page", pages_with_claims(), ids=lambda p: p.name)
def test_printed_outputs_are_what_the_page_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, source in enumerate(python_blocks(page)):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, f"{page.name} (python block {i + 1})", "exec"), namespace)
        for claim in claimed_outputs(source):
            assert shown_in(claim, printed.getvalue()), (
                f"{page.name}, python block {i + 1} shows {claim!r} but printed:\n"
                f"{printed.getvalue()}"
            )


def test_the_doctors_table_is_what_diagnose_prints(tmp_path, monkeypatch):
    """The rows shown under the first diagnosis are rows it prints (the time masked)."""
    page = DOCS / "when-training-goes-wrong.md"
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(python_blocks(page)[0], {"__name__": "docs_doctor"})
    shown = page.read_text().split("```text\n", 1)[1].split("```", 1)[0]
    mask = lambda text: re.sub(r"\(\d+\.\d s\)", "(x s)", text).splitlines()  # noqa: E731
    lines = mask(printed.getvalue())
    rows = [line for line in mask(shown) if line.strip() != "..."]
    assert len(rows) >= 10 and all(row in lines for row in rows)
    positions = [lines.index(row) for row in rows]
    assert positions == sorted(positions)


def slugs(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page`` (lower case, punctuation dropped,
    spaces to hyphens), and any explicit ``<a id="...">``."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    headings = re.findall(r"^#{1,6}\s+(.*?)\s*$", text, re.M)
    found = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    return found | set(re.findall(r'<a (?:id|name)="([^"]+)"', text))


ANCHORED = [
    (page, target)
    for page in [*sorted(DOCS.glob("*.md")), README]
    for target in re.findall(r"\]\(([^)\s]*#[^)\s]+)\)", page.read_text())
    if not re.match(r"[a-z]+:", target)
]


def test_the_slugs_are_githubs():
    assert "the-first-run-cnn-numpy-train---dataset-mnist" in slugs(DOCS / "performance.md")
    assert len(ANCHORED) >= 10


@pytest.mark.parametrize("page, target", ANCHORED, ids=lambda v: str(getattr(v, "name", v)))
def test_every_anchor_finds_its_heading(page, target):
    file, _, anchor = target.partition("#")
    linked = (page.parent / file).resolve() if file else page
    assert anchor in slugs(linked), f"{page.name}: no heading for {target}"


def test_page_7s_table_of_step_sizes_is_what_its_snippet_measures(tmp_path, monkeypatch):
    """The table of h against the error is printed by the snippet under it; a table edited
    by hand, or a snippet that stopped measuring it, fails here. Truncation (h >= 1e-4 in
    float64) is plain arithmetic, 2 digits; rows that rounding decides, within a factor 3."""
    page = DOCS / "07-gradient-checks.md"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_07"}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in python_blocks(page)[:2]:
            exec(source, namespace)
    number = r"\$?([\d.]+)(?: \\times 10\^\{(-\d+)\})?\$?"
    row = re.compile(rf"^\| \$10\^\{{(-\d+)\}}\$ \| {number} \| {number} \|$", re.M)
    table = row.findall(page.read_text())
    assert len(table) == 8
    value = lambda mantissa, exponent: float(mantissa) * 10.0 ** int(exponent or 0)  # noqa: E731
    for exponent, m64, e64, m32, e32 in table:
        h = 10.0 ** int(exponent)
        shown64, shown32 = value(m64, e64), value(m32, e32)
        measured64, measured32 = namespace["error64"][h], namespace["error32"][h]
        if h >= 1e-4:
            assert abs(shown64 - measured64) <= 0.05 * measured64, (h, shown64, measured64)
        else:
            assert 1 / 3 <= shown64 / measured64 <= 3, (h, shown64, measured64)
        assert 1 / 3 <= shown32 / measured32 <= 3, (h, shown32, measured32)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_a_page_runs_in_a_fresh_interpreter_without_a_warning(page, tmp_path):
    """As a reader runs it: a new Python, nothing imported before, in an empty folder; its
    snippets top to bottom, and nothing on stderr (a warning on a projected page is a defect)."""
    import os
    import subprocess
    import sys

    script = tmp_path / "page.py"
    script.write_text("\n".join(python_blocks(page)))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr == "", f"{page.name}:\n{done.stderr[-3000:]}"
