from hpinit_k8s.cli import main
from hpinit_k8s.seeds import paper_seeds


def test_tuning_seeds_are_the_papers():
    assert paper_seeds(3, 20)[:3] == [31190, 77678, 71333]
    assert len(set(paper_seeds(3, 20))) == 20


def test_training_seeds_are_the_papers():
    assert paper_seeds(17, 8)[:2] == [68417, 54285]
    assert paper_seeds(17, 8)[-1] == 92303  # the seed column of the paper's Food-101 CSVs


def test_seeds_command_prints_the_list(capsys):
    assert main(["seeds", "--master", "3", "-n", "20"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[:3] == ["31190", "77678", "71333"] and len(printed) == 20
