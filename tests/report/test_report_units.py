"""`hpinit report` on small CSVs written here, including malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from conftest import run_cli
from hpinit_k8s.errors import ReportError
from hpinit_k8s.report import build_report
from hpinit_k8s.report.load import read_runs
from hpinit_k8s.report.stats import summarise
from hpinit_k8s.report.tables import SUMMARY_KEYS

TAIL = "best_accuracy,best_epoch,target_accuracy_epoch,dataset,model,num_epochs,weight_initialization,hp_epoch"


def _csv(path: Path, rows: list[str], *, epochs: int = 3, seed: bool = False) -> Path:
    header = "id," + ",".join(f"epoch_{e}" for e in range(1, epochs + 1)) + "," + TAIL + (",seed" if seed else "")
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _row(run_id, accs, label, hp_epoch=-1, tta="", seed=None):
    numbers = [a for a in accs if not isinstance(a, str)]
    cells = [run_id, *map(str, accs), str(max(numbers)), "1", str(tta), "d", "m", str(len(accs)), label, str(hp_epoch)]
    return ",".join(cells + ([str(seed)] if seed is not None else []))


@pytest.fixture
def small(tmp_path) -> Path:
    _csv(tmp_path / "random.csv", [_row("r1", [50, 70, 80], "Random", tta=3, seed=1),
                                   _row("r2", [40, 60, 90], "random", tta=3, seed=2),
                                   _row("r3", [45, 65, 70], "Random", tta="", seed=3)], seed=True)
    _csv(tmp_path / "final.csv", [_row("f1", [70, 85, 86], "HP Final", tta=2, seed=2),
                                  _row("f2", [75, 80, 92], "HP Final", tta=1, seed=1),
                                  _row("f3", [72, 82, 84], "hp-final", tta=2, seed=3)], seed=True)
    _csv(tmp_path / "epochs.csv", [_row("e1", [60, 80, 81], "hp-epoch", 10, tta=2, seed=1),
                                   _row("e2", [61, 79, 83], "hp-epoch", 5, tta=2, seed=1)], seed=True)
    return tmp_path


def test_labels_are_normalised_and_policies_ordered_as_the_paper(small):
    summary = summarise(read_runs([small]))
    assert [(e["policy"], e["hp_epoch"]) for e in summary] == [
        ("hp-epoch", 5), ("hp-epoch", 10), ("hp-final", None), ("random", None)]


def test_summary_numbers(small):
    summary = {(e["policy"], e["hp_epoch"]): e for e in summarise(read_runs([small]), target=80)}
    random, final = summary[("random", None)], summary[("hp-final", None)]
    assert random["n"] == 3 and random["best_accuracy_mean"] == pytest.approx(80.0)
    assert random["best_accuracy_std"] == pytest.approx(10.0)
    assert random["tta_mean"] == 3.0 and random["tta_not_reached"] == 1  # never-reached runs are not zeros
    assert final["tta_mean"] == pytest.approx(2.0) and final["tta_speedup"] == pytest.approx(1.5)
    for key in ("ttest_t", "ttest_p", "mannwhitney_u", "mannwhitney_p"):
        assert random[key] is None


def test_tests_pair_by_seed_against_random(small):
    final = next(e for e in summarise(read_runs([small])) if e["policy"] == "hp-final")
    # seeds 1, 2, 3: random best 80, 90, 70; hp-final best 92, 86, 84
    expected = stats.ttest_rel([92, 86, 84], [80, 90, 70])
    assert final["ttest_t"] == pytest.approx(expected.statistic) and final["pairing"] == "seed"
    u = stats.mannwhitneyu([86, 92, 84], [80, 90, 70], alternative="two-sided", method="exact")
    assert final["mannwhitney_u"] == u.statistic and final["mannwhitney_p"] == pytest.approx(u.pvalue)


def test_without_target_the_column_is_used(small):
    random = next(e for e in summarise(read_runs([small])) if e["policy"] == "random")
    assert random["tta_mean"] == 3.0 and random["tta_not_reached"] == 1


@pytest.mark.parametrize(("rows", "header_epochs", "message"), [
    ([_row("a", [1, 2, "x"], "Random")], 3, "bad.csv:2: epoch_3 is not a number ('x')"),
    ([_row("a", [1, 2, 3], "Random"), "b,1,,3," + ",".join(["3", "1", "", "d", "m", "3", "Random", "-1"])], 3,
     "bad.csv:3: epoch_2 is missing"),
    ([_row("a", [1, 2, 3], "warm-start")], 3, "weight_initialization 'warm-start' is not a known policy"),
    ([_row("a", [1, 2, 3], "hp-epoch", -1)], 3, "hp-epoch row with hp_epoch -1"),
    ([_row("a", [1, 2, 3], "Random") + ",extra"], 3, "more cells than header columns"),
])
def test_malformed_rows_are_reported_by_file_and_line(tmp_path, rows, header_epochs, message):
    _csv(tmp_path / "bad.csv", rows, epochs=header_epochs)
    with pytest.raises(ReportError) as raised:
        read_runs([tmp_path / "bad.csv"])
    assert message in str(raised.value) and "nothing reported" in str(raised.value)


@pytest.mark.parametrize(("header", "message"), [
    ("run,epoch_1," + TAIL, "header must start with 'id'"),
    ("id," + TAIL, "no epoch_1"),
    ("id,epoch_1,epoch_2,best_accuracy,best_epoch,dataset,model,num_epochs,weight_initialization,hp_epoch",
     "lacks target_accuracy_epoch"),
    ("id,epoch_1,epoch_3," + TAIL, "not consecutive"),
])
def test_malformed_header(tmp_path, header, message):
    (tmp_path / "h.csv").write_text(header + "\n")
    with pytest.raises(ReportError, match=message):
        read_runs([tmp_path / "h.csv"])


def test_cli_bad_csv_exits_2_without_traceback(tmp_path):
    _csv(tmp_path / "bad.csv", [_row("a", [1, 2, "x"], "Random")])
    result = run_cli("report", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.csv:2: epoch_3 is not a number" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_missing_path(tmp_path):
    result = run_cli("report", str(tmp_path / "nope"))
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_report_files(small, tmp_path):
    report = build_report([small], tmp_path / "out", target=80)
    names = sorted(p.name for p in report.files)
    assert names == sorted(["summary.json", "table.md", "table.tex", *[f"{s}.{x}" for s in ("best_accuracy", "tta", "curves")
                                                                     for x in ("png", "pdf")]])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [tuple(e) for e in summary] == [SUMMARY_KEYS] * 4
    assert "| hp-final | 3 | 87.333 ± 4.163 |" in report.table_markdown
    tex = (tmp_path / "out" / "table.tex").read_text()
    assert r"\begin{tabular}" in tex and r"87.333 $\pm$ 4.163" in tex
