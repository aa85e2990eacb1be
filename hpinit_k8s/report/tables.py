"""The summary as Markdown and LaTeX tables (pure: summary entries in, text out)."""

from __future__ import annotations

from typing import Any

from hpinit_k8s.report.stats import policy_name

SUMMARY_KEYS = ("policy", "hp_epoch", "n", "best_accuracy_mean", "best_accuracy_std", "tta_mean", "tta_not_reached",
                "tta_speedup", "ttest_t", "ttest_p", "mannwhitney_u", "mannwhitney_p")
"""The keys of each object in summary.json."""


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def _cells(entry: dict[str, Any]) -> list[str]:
    std = entry["best_accuracy_std"]
    accuracy = _num(entry["best_accuracy_mean"]) + ("" if std is None else f" ± {_num(std)}")
    speedup = "–" if entry["tta_speedup"] is None else f"{entry['tta_speedup']:.2f}×"
    test = lambda stat, p: "–" if entry[stat] is None else f"{entry[stat]:.3f} (p={_p(entry[p])})"  # noqa: E731
    return [policy_name((entry["policy"], entry["hp_epoch"])), str(entry["n"]), accuracy, _num(entry["tta_mean"], 2),
            speedup, str(entry["tta_not_reached"]), test("ttest_t", "ttest_p"), test("mannwhitney_u", "mannwhitney_p")]


HEADER = ["Policy", "Runs", "Best test acc. (%)", "TTA (epochs)", "TTA speedup", "Not reached",
          "Paired t vs random", "Mann–Whitney U vs random"]


def markdown(summary: list[dict[str, Any]], *, target_note: str) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * (len(HEADER) - 1)) + "|"]
    lines += ["| " + " | ".join(_cells(e)) + " |" for e in summary]
    pairings = sorted({e["pairing"] for e in summary if e.get("pairing")})
    notes = [target_note, "TTA: mean first epoch reaching the target, over runs that reached it."]
    if pairings:
        notes.append(f"t-tests pair runs by {' / '.join(pairings)}; Mann–Whitney U is two-sided.")
    return "\n".join(lines) + "\n\n" + "\n".join(f"_{n}_  " for n in notes).rstrip() + "\n"


def _tex_escape(text: str) -> str:
    return text.replace("%", r"\%").replace("×", r"$\times$").replace("±", r"$\pm$").replace("–", "--")


def latex(summary: list[dict[str, Any]], *, caption: str) -> str:
    """A booktabs table with the paper's layout: one row per initialisation policy."""
    rows = [" & ".join(_tex_escape(c) for c in _cells(e)) + r" \\" for e in summary]
    return "\n".join([
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{_tex_escape(caption)}}}",
        r"\begin{tabular}{lrrrrrrr}",
        r"\toprule",
        " & ".join(_tex_escape(h) for h in HEADER) + r" \\",
        r"\midrule",
        *rows,
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
        "",
    ])
