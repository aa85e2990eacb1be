"""The Kubernetes commands: render (no cluster), submit, status, delete."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpinit_k8s.errors import HpinitError
from hpinit_k8s.spec import ExperimentSpec, load_spec


def _spec(args: argparse.Namespace) -> ExperimentSpec:
    spec = load_spec(args.spec).with_storage(getattr(args, "storage", None))
    if getattr(args, "namespace", None):
        spec = spec.with_namespace(args.namespace)
    return spec


def cmd_render(args: argparse.Namespace) -> int:
    from hpinit_k8s.k8s.render import render

    spec = _spec(args)
    out = Path(args.output) / spec.name
    out.mkdir(parents=True, exist_ok=True)
    manifests = render(spec)
    stale = {p.name for p in out.glob("*.yaml")} - {m.filename for m in manifests}
    if stale:
        raise HpinitError(f"{out} holds files this spec does not render ({', '.join(sorted(stale))}); remove them first")
    for manifest in manifests:
        path = out / manifest.filename
        path.write_text(manifest.to_yaml())
        print(path)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from hpinit_k8s.k8s.submit import Cluster, submit

    spec = _spec(args)
    submit(spec, Cluster(spec.kubernetes.namespace, context=args.context))
    print(f"{spec.name}: all stages complete; results under {spec.storage.uri}/{spec.name}/results")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from hpinit_k8s.k8s.submit import Cluster, stage_states

    cluster = Cluster(args.namespace, context=args.context)
    rows = stage_states(cluster.list_labelled(args.name))
    if not rows:
        raise HpinitError(f"no stages of experiment {args.name} in namespace {args.namespace}")
    for stage, name, state in rows:
        print(f"{stage:8} {name:48} {state.phase.value:10} {state.detail}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from hpinit_k8s.k8s.submit import Cluster, delete_experiment

    deleted = delete_experiment(Cluster(args.namespace, context=args.context), args.name, purge=args.purge)
    if not deleted:
        raise HpinitError(f"nothing of experiment {args.name} in namespace {args.namespace}")
    for name in deleted:
        print(f"deleted {name}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    render = commands.add_parser("render", help="write the experiment's Kubernetes manifests (no cluster needed)",
                                 description="Write one manifest per object into OUT/<experiment>/, in apply order.")
    render.add_argument("spec", metavar="SPEC")
    render.add_argument("-o", "--output", default="build/manifests", metavar="DIR", help="default: build/manifests")
    render.add_argument("--storage", metavar="URI", help="override storage.uri")
    render.add_argument("-n", "--namespace", help="override kubernetes.namespace")
    render.set_defaults(func=cmd_render)

    submit = commands.add_parser("submit", help="apply and watch the stages on a KubeRay cluster, in order",
                                 description="Apply ConfigMap and PVC, then run tune, train and collect in order.")
    submit.add_argument("spec", metavar="SPEC")
    submit.add_argument("-n", "--namespace", help="override kubernetes.namespace")
    submit.add_argument("--storage", metavar="URI", help="override storage.uri")
    submit.add_argument("--context", help="kubeconfig context (default: the current one)")
    submit.set_defaults(func=cmd_submit)

    for name, help_text, func in (("status", "show each stage's state", cmd_status),
                                  ("delete", "delete an experiment's objects (keeps the storage claim)", cmd_delete)):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("name", metavar="NAME", help="experiment name")
        sub.add_argument("-n", "--namespace", default="default")
        sub.add_argument("--context", help="kubeconfig context (default: the current one)")
        if name == "delete":
            sub.add_argument("--purge", action="store_true", help="also delete the storage claim and its weights")
        sub.set_defaults(func=func)
