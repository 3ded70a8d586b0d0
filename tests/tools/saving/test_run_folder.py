"""The run folder's list of files: every picture the report can draw is on it, so
``train --overwrite`` (``remove_run``) removes an old run's pictures and nothing else."""

from __future__ import annotations

from fnmatch import fnmatch

from cnn_numpy.tools.saving.run_folder import RUN_PICTURES, remove_run, run_files
from cnn_numpy.tools.visualize.report_page import SECTIONS, suffix_of


def test_every_picture_of_the_report_is_a_run_file():
    for stem, _, _ in SECTIONS:
        name = f"{stem}3" if stem == "filters_layer" else stem  # filters_layer<i>
        file = f"{name}.{suffix_of(stem)}"
        assert any(fnmatch(file, pattern) for pattern in RUN_PICTURES), file


def test_remove_run_takes_the_runs_files_and_leaves_the_users(tmp_path):
    names = ["model.npz", "mistakes_saliency.png", "augmentation.png", "monitor_updates.png"]
    for name in [*names, "notes.txt", "photo.png"]:
        (tmp_path / name).write_bytes(b"x")
    assert sorted(p.name for p in run_files(tmp_path)) == sorted(names)
    remove_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "photo.png"]
