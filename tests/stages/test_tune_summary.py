"""Winner selection and weight retention (pure functions over trial records)."""

import copy

import pytest

from hpinit_k8s.spec import parse_spec
from hpinit_k8s.stages.tune import build_summary, summary_csv


def _trial(index, curve):
    return {"trial_index": index, "trial_id": f"t{index}", "seed": index, "hyperparameters": {"lr": 0.1},
            "val_accuracy": curve, "val_loss": [0.0] * len(curve), "weights": {"0": {"uri": f"u{index}"}}}


TRIALS = [_trial(0, [60.0, 90.0, 70.0]), _trial(1, [50.0, 60.0, 80.0]), _trial(2, [40.0, 50.0, 80.0])]


@pytest.fixture
def make_spec(quickstart_data):
    def make(**tuning):
        data = copy.deepcopy(quickstart_data)
        data["tuning"].update({"trials": 3, "epochs": 3, **tuning})
        data["training"]["policies"] = ["random", "hp-final", {"hp-epoch": [2]}]
        return parse_spec(data, source="test")

    return make


def test_winner_by_last_epoch_as_the_paper_with_ties_to_the_lower_index(make_spec):
    summary = build_summary(TRIALS, make_spec())
    assert summary["winner"]["trial_index"] == 1
    assert [t["rank"] for t in summary["trials"]] == [3, 1, 2]


def test_winner_by_best_epoch(make_spec):
    summary = build_summary(TRIALS, make_spec(winner="best"))
    assert summary["winner"]["trial_index"] == 0 and summary["winner"]["score"] == 90.0


def test_top_trials_marks_weights_to_delete(make_spec):
    summary = build_summary(TRIALS, make_spec(retention={"top_trials": 1}))
    assert [t["weights_kept"] for t in summary["trials"]] == [False, True, False]


def test_summary_csv_has_a_row_per_trial(make_spec):
    lines = summary_csv(build_summary(TRIALS, make_spec())).strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("trial_index,trial_id,seed,lr")
    assert lines[2].split(",")[4:7] == ["50.0", "60.0", "80.0"]
