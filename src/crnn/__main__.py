"""``python -m crnn``: crnn's command line.

    python -m crnn            the self-check (same as ``python -m crnn check``)
    python -m crnn check      compare every output and gradient with crnn.reference,
                              and time crnn against it
    python -m crnn bench      time forward + backward against the numpy course code,
                              PyTorch (if installed) and this machine's GEMM-bound floor
"""
import argparse
import sys


def _names(choices):
    """An argparse type: a comma-separated list of names from choices."""

    def parse(text):
        names = [n.strip() for n in text.split(",") if n.strip()]
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(
                f"{text!r}: choose from {', '.join(choices)} (comma-separated)"
            )
        return names

    return parse


def main(argv=None):
    from crnn.bench import DTYPES, SIZES

    parser = argparse.ArgumentParser(prog="python -m crnn", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("check", help="compare crnn with crnn.reference and time both")
    check.add_argument("--repeats", type=int, default=5, help="timed repeats per size (default 5)")
    check.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    bench = sub.add_parser(
        "bench", help="time crnn against the numpy course code, PyTorch and the GEMM floor"
    )
    bench.add_argument(
        "--sizes", type=_names(SIZES), default=list(SIZES),
        help=f"comma-separated, from {', '.join(SIZES)} (default all); "
        + "; ".join(f"{k} = (n_x, n_a, n_y, m, T_x) {v}" for k, v in SIZES.items()),
    )
    bench.add_argument(
        "--dtype", type=_names(DTYPES), default=list(DTYPES),
        help="float64, float32 or both comma-separated (default both)",
    )
    bench.add_argument(
        "--threads", type=int, default=None,
        help="limit BLAS and PyTorch threads to this many (threadpoolctl); default unchanged",
    )
    bench.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    bench.add_argument("--json", metavar="PATH", help="also write the full results as JSON")
    bench.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    bench.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    args = parser.parse_args(argv)
    if args.command == "bench":
        from crnn.bench import main as run_bench

        if args.repeats < 1 or (args.threads is not None and args.threads < 1):
            parser.error("--repeats and --threads must be at least 1")
        return run_bench(
            args.sizes, args.dtype, args.repeats, args.threads, args.json,
            torch=not args.no_torch, seed=args.seed,
        )
    if args.command in (None, "check"):
        from crnn._check import run_check

        return run_check(
            repeats=getattr(args, "repeats", 5), seed=getattr(args, "seed", 0)
        )
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
