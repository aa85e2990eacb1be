"""`hpinit report`: result CSVs -> summary.json, table.md/.tex and the figures, in one folder."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from hpinit_k8s.report.load import read_runs
from hpinit_k8s.report.plots import write_plots
from hpinit_k8s.report.stats import summarise
from hpinit_k8s.report.tables import SUMMARY_KEYS, latex, markdown


@dataclass(frozen=True)
class Report:
    table_markdown: str
    files: list[Path]


def build_report(inputs: list[str | Path], out: Path, *, target: float | None = None) -> Report:
    runs = read_runs(inputs)
    summary = summarise(runs, target)
    out.mkdir(parents=True, exist_ok=True)
    title = " / ".join(sorted({f"{r.model} on {r.dataset}" for r in runs}))
    target_note = (f"Target accuracy {target:g} % (TTA recomputed from the epoch columns)." if target is not None
                   else "TTA from the target_accuracy_epoch column.")
    table = markdown(summary, target_note=target_note)
    files = [out / "summary.json", out / "table.md", out / "table.tex"]
    files[0].write_text(json.dumps([{k: e[k] for k in SUMMARY_KEYS} for e in summary], indent=2) + "\n")
    files[1].write_text(f"# {title}\n\n{table}")
    files[2].write_text(latex(summary, caption=f"{title}. {target_note}"))
    files += write_plots(runs, out, target=target, title=title)
    return Report(table, files)


def cmd_report(args: argparse.Namespace) -> int:
    report = build_report(args.inputs, Path(args.output), target=args.target)
    print(report.table_markdown)
    for path in report.files:
        print(path)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report", help="tables, statistics and plots from result CSVs",
        description="Tables, statistics and plots from result CSVs in the paper's format (files or folders).",
    )
    parser.add_argument("inputs", nargs="+", metavar="CSV_PATH", help="CSV files or folders of them")
    parser.add_argument("--target", type=float, metavar="ACC",
                        help="recompute time-to-target from the epoch columns with this accuracy (%%)")
    parser.add_argument("-o", "--output", default="report", metavar="OUT", help="output folder (default: report/)")
    parser.set_defaults(func=cmd_report)
