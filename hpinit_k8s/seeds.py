"""The paper's seed lists: `random.seed(master)` then `randint(0, 100000)` per seed."""

import random


def paper_seeds(master: int, n: int) -> list[int]:
    """Seeds as the paper's scripts drew them (master 3 for tuning, 17 for training)."""
    rng = random.Random(master)
    return [rng.randint(0, 100000) for _ in range(n)]
