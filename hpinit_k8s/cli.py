"""`hpinit`: the command line. Every `HpinitError` becomes one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import hpinit_k8s
from hpinit_k8s import __version__
from hpinit_k8s.errors import HpinitError
from hpinit_k8s.seeds import paper_seeds
from hpinit_k8s.spec import ExperimentSpec, load_spec

EXIT_BAD_INPUT = 2


def _load(args: argparse.Namespace) -> ExperimentSpec:
    spec = load_spec(args.spec)
    spec = spec.with_storage(getattr(args, "storage", None))
    data_root = getattr(args, "data_root", None)
    return spec if data_root is None else spec.with_data_root(data_root)


def cmd_validate(args: argparse.Namespace) -> int:
    spec = _load(args)
    policies = ", ".join(p.label for p in spec.policies())
    print(f"{args.spec}: valid ({spec.tuning.trials} trials x {spec.tuning.epochs} epochs; "
          f"{len(spec.policies())} policies x {spec.training.runs_per_policy} seeds: {policies})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hpinit_k8s.stages import STAGES, run_stages

    spec = _load(args)
    stages = STAGES if args.stage == "all" else (args.stage,)
    for outcome in run_stages(spec, stages, verbose=args.verbose):
        state = "already complete, nothing to do" if outcome.skipped else "done"
        print(f"{outcome.stage}: {state}: {outcome.output_uri}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    args.stage = "collect"
    return cmd_run(args)


def cmd_seeds(args: argparse.Namespace) -> int:
    print(" ".join(str(seed) for seed in paper_seeds(args.master, args.n)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hpinit", description=hpinit_k8s.__doc__)
    parser.add_argument("--version", action="version", version=f"hpinit-k8s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def spec_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("spec", metavar="SPEC", help="experiment spec (YAML)")
        return sub

    validate = spec_command("validate", "check a spec and print what it would run")
    validate.add_argument("--storage", metavar="URI", help="override storage.uri")
    validate.set_defaults(func=cmd_validate)

    run = spec_command("run", "run the pipeline's stages on the Ray in RAY_ADDRESS, else on a local Ray")
    run.add_argument("--stage", choices=["tune", "train", "collect", "all"], default="all")
    run.add_argument("--storage", metavar="URI", help="override storage.uri (path, file://, s3://bucket/prefix)")
    run.add_argument("--data-root", metavar="DIR", help="override dataset.root")
    run.add_argument("-v", "--verbose", action="store_true", help="show Ray's and the trials' logs")
    run.set_defaults(func=cmd_run)

    collect = spec_command("collect", "write the paper-format CSVs from finished training runs")
    collect.add_argument("--storage", metavar="URI", help="override storage.uri")
    collect.set_defaults(verbose=False)
    collect.set_defaults(func=cmd_collect)

    seeds = commands.add_parser("seeds", help="print the paper's seed list", description="print the paper's seed list")
    seeds.add_argument("--master", type=int, required=True, help="master seed (3: tuning, 17: training)")
    seeds.add_argument("-n", type=int, required=True, help="how many seeds")
    seeds.set_defaults(func=cmd_seeds)

    for register in _extra_commands():
        register(commands)
    return parser


def _extra_commands() -> list:
    """Commands whose modules carry their own parsers."""
    from hpinit_k8s import report
    from hpinit_k8s.k8s import cli as k8s_cli

    return [report.register, k8s_cli.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except HpinitError as error:
        print(f"hpinit: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hpinit: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
