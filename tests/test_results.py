"""The paper's CSV format from training runs."""

import csv
import io

from hpinit_k8s.results import best_epoch, columns, csv_files, epochs_to_target, paper_row


def _run(policy, hp_epoch, accuracies, label=None, seed=1, trial_id="t1"):
    return {"trial_id": trial_id, "policy": policy, "hp_epoch": hp_epoch, "label": label or policy,
            "seed": seed, "test_accuracy": accuracies}


def test_best_epoch_is_the_first_argmax_1_based():
    assert best_epoch([50.0, 70.0, 70.0, 60.0]) == 2


def test_epochs_to_target():
    assert epochs_to_target([50.0, 89.99, 90.0, 95.0], 90) == 3
    assert epochs_to_target([50.0, 60.0], 90) is None


def test_row_follows_the_paper():
    row = paper_row(_run("hp-epoch", 5, [80.0, 91.0, 90.5], label="hp-epoch-5"), target=90, dataset="cifar10",
                    model="resnet18")
    assert list(row) == columns(3)
    assert (row["best_accuracy"], row["best_epoch"], row["target_accuracy_epoch"]) == (91.0, 2, 2)
    assert (row["weight_initialization"], row["hp_epoch"], row["num_epochs"]) == ("hp-epoch", 5, 3)
    never = paper_row(_run("hp-final", 3, [10.0, 20.0]), target=90, dataset="d", model="m")
    assert never["target_accuracy_epoch"] == "" and never["hp_epoch"] == -1


def test_one_file_per_policy_and_one_with_everything():
    runs = [_run("random", None, [1.0, 2.0], seed=1), _run("random", None, [1.0, 3.0], seed=2, trial_id="t2"),
            _run("hp-epoch", 2, [5.0, 6.0], label="hp-epoch-2")]
    files = csv_files(runs, experiment="e", epochs=2, target=3, dataset="d", model="m")
    assert sorted(files) == ["e-all.csv", "e-hp-epoch-2.csv", "e-random.csv"]
    rows = list(csv.DictReader(io.StringIO(files["e-all.csv"])))
    assert len(rows) == 3 and list(rows[0]) == columns(2) and list(rows[0])[-1] == "seed"
    assert [r["target_accuracy_epoch"] for r in rows] == ["", "2", "1"]
