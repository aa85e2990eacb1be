"""The report over the paper's own raw CSVs (../shared/paper-results)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from hpinit_k8s.report import build_report
from hpinit_k8s.report.load import read_runs
from hpinit_k8s.report.stats import summarise
from hpinit_k8s.results import best_epoch, epochs_to_target

TARGETS = {"res18-c10": 90, "res18-c100": 75, "res18-tinyimagenet": 40, "res152-c100": 75, "res152-c100-70": 70,
           "inceptionv3-food101": 70}
ROWS = {"res18-c10": 64, "res18-c100": 56, "res18-tinyimagenet": 56, "res152-c100": 16, "res152-c100-70": 16,
        "inceptionv3-food101": 40}


def test_every_folder_is_there(paper_results):
    assert sorted(p.name for p in paper_results.iterdir() if p.is_dir()) == sorted(TARGETS)
    assert sum(ROWS.values()) == 248


@pytest.mark.parametrize("experiment", sorted(TARGETS))
def test_folder_loads_and_columns_agree_with_the_epochs(paper_results, experiment):
    runs = read_runs([paper_results / experiment])
    assert len(runs) == ROWS[experiment]
    import csv

    for run in runs:
        with open(run.source, newline="") as handle:
            row = list(csv.DictReader(handle))[run.line - 2]
        assert float(row["best_accuracy"]) == max(run.accuracies)
        assert int(row["best_epoch"]) == best_epoch(run.accuracies)
        assert epochs_to_target(run.accuracies, TARGETS[experiment]) == run.target_accuracy_epoch


def test_res18_cifar10_reproduces_the_papers_headline(paper_results):
    summary = {(e["policy"], e["hp_epoch"]): e for e in summarise(read_runs([paper_results / "res18-c10"]), 90)}
    assert summary[("hp-final", None)]["tta_mean"] == pytest.approx(12.75)
    assert summary[("random", None)]["tta_mean"] == pytest.approx(29.125)
    assert summary[("hp-final", None)]["tta_speedup"] == pytest.approx(29.125 / 12.75)


def test_seeded_folder_pairs_by_row_order_when_seeds_repeat(paper_results):
    entries = summarise(read_runs([paper_results / "inceptionv3-food101"]), 70)
    assert all(e["pairing"] == "row order" for e in entries if e["policy"] != "random")


@pytest.mark.parametrize("experiment", ["res18-c10", "inceptionv3-food101"])
def test_plots_are_valid_images(paper_results, tmp_path, experiment):
    report = build_report([paper_results / experiment], tmp_path, target=TARGETS[experiment])
    for stem in ("best_accuracy", "tta", "curves"):
        with Image.open(tmp_path / f"{stem}.png") as image:
            image.verify()
            assert image.size[0] > 400 and image.size[1] > 300
        assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert len(json.loads((tmp_path / "summary.json").read_text())) == len(
        {(r.policy, r.hp_epoch) for r in read_runs([paper_results / experiment])})
    assert report.table_markdown.count("\n| ") >= 4
