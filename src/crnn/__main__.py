"""``python -m crnn``: crnn's command line.

    python -m crnn            the self-check (same as ``python -m crnn check``)
    python -m crnn check      compare every output and gradient with crnn.reference,
                              and time crnn against it
"""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m crnn", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("check", help="compare crnn with crnn.reference and time both")
    check.add_argument("--repeats", type=int, default=5, help="timed repeats per size (default 5)")
    check.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    args = parser.parse_args(argv)
    if args.command in (None, "check"):
        from crnn._check import run_check

        return run_check(
            repeats=getattr(args, "repeats", 5), seed=getattr(args, "seed", 0)
        )
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
