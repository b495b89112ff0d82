"""The ``radlab`` command: ``radlab doctor``, ``fetch``, ``pretrain``, ``student-copies``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import main as doctor_main

    return doctor_main(brief=args.brief)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .data.registry import fetch_main

    if not args.names and not args.all and not args.list:
        print("radlab fetch: name one or more datasets, or use --all / --list", file=sys.stderr)
        return 2
    return fetch_main(
        args.names, all_=args.all, list_=args.list, data_dir=args.data_dir,
        force=args.force, progress=not args.quiet,
    )


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from .errors import RadlabError
    from .transfer import SOURCES, pretrain_source

    status = 0
    for source in args.sources or [None]:
        kwargs = {} if source is None else {"source": source}
        try:
            model = pretrain_source(input_shape=(args.size, args.size, 1), data_dir=args.data_dir,
                                    verbose=not args.quiet, **kwargs)
        except (RadlabError, OSError, ValueError) as exc:
            print(f"radlab pretrain: {exc}", file=sys.stderr)
            status = 1
            continue
        how = "already cached" if model.from_cache else f"trained in {model.train_seconds:.0f} s"
        print(f"{model.source}: {how}, source AUC {model.source_auc:.3f}, {model.path}")
    if status:
        print(f"known sources: {', '.join(sorted(SOURCES))}", file=sys.stderr)
    return status


def _cmd_student(args: argparse.Namespace) -> int:
    from .course import make_student_copies

    written = make_student_copies(args.src, args.out)
    for path in written:
        print(path)
    print(f"{len(written)} student notebook(s) written to {args.out} (solution cells removed).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radlab", description="radlab: deep learning in radiology.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="check the environment (widgets, ipympl, GPU, data directory)")
    p.add_argument("--brief", action="store_true", help="print the table only when something fails")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("fetch", help="pre-download datasets and weights into the data directory")
    p.add_argument("names", nargs="*", help="registry names (see --list)")
    p.add_argument(
        "--all", action="store_true",
        help="fetch every registry entry: all MedMNIST sizes and ImageNet weights (many GB)",
    )
    p.add_argument("--force", action="store_true", help="download again even when cached")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--list", action="store_true", help="list the registry and what is cached")
    p.add_argument("--data-dir", default=None, help="override RADLAB_DATA_DIR")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser(
        "pretrain",
        help="train and cache notebook 05's in-kit source model (the offline transfer path), once per room",
    )
    p.add_argument("sources", nargs="*", help="source tasks (default: the notebook's; see radlab.transfer.SOURCES)")
    p.add_argument("--size", type=int, default=64, help="image size in pixels (default: 64, as in notebook 05)")
    p.add_argument("--quiet", action="store_true", help="no training log")
    p.add_argument("--data-dir", default=None, help="override RADLAB_DATA_DIR")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("student-copies", help="write notebooks with solution cells removed")
    p.add_argument("--src", default="notebooks", help="folder of notebooks (default: notebooks)")
    p.add_argument("--out", default="build/student", help="output folder (default: build/student)")
    p.set_defaults(func=_cmd_student)
    return parser


def _version() -> str:
    from ._version import __version__

    return f"radlab {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``radlab`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
