"""``python -m crnn``: crnn's command line.

    python -m crnn              the demo (same as ``python -m crnn demo``)
    python -m crnn demo         train a name tagger on crnn's data, score it, tag sentences
    python -m crnn demo names   train the course's character-level model on first names
                                and sample new ones
    python -m crnn check        compare every output and gradient with crnn.reference,
                                and time crnn against it
    python -m crnn bench        time forward + backward of the RNN and the LSTM against the
                                numpy course code, PyTorch (if installed) and this
                                machine's GEMM-bound floor
    python -m crnn bench --train
                                time a training step of SequenceTagger.fit (and fit itself)
                                against PyTorch's training loop and the step's GEMM floor
    python -m crnn bench --infer
                                time predict_proba at m = 1, 8, 64 against the course's
                                forward, PyTorch and ONNX Runtime (if installed)
"""  # fmt: skip  # ruff would dedent the table, which is --help's epilog

import argparse
import sys


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


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
    from crnn.bench import CELLS, DTYPES, SIZES
    from crnn.bench_models import INFER_BATCHES, INFER_SHAPE, TRAIN_SIZES

    parser = argparse.ArgumentParser(
        prog="python -m crnn",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("check", help="compare crnn with crnn.reference and time both")
    check.add_argument("--repeats", type=int, default=5, help="timed repeats per size (default 5)")
    check.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    bench = sub.add_parser(
        "bench", help="time crnn against the numpy course code, PyTorch and the GEMM floor"
    )
    bench.add_argument(
        "--sizes",
        type=_names({**SIZES, **TRAIN_SIZES}),
        default=None,
        help=f"comma-separated, from {', '.join(SIZES)} (default all); "
        + "; ".join(f"{k} = (n_x, n_a, n_y, m, T_x) {v}" for k, v in SIZES.items())
        + f". With --train: from {', '.join(TRAIN_SIZES)} (default all); "
        + "; ".join(f"{k} = {v}" for k, v in TRAIN_SIZES.items()),
    )
    bench.add_argument(
        "--dtype",
        type=_names(DTYPES),
        default=None,
        help="float64, float32 or both comma-separated (default both; with --infer float32)",
    )
    kind = bench.add_mutually_exclusive_group()
    kind.add_argument(
        "--train",
        action="store_true",
        help="time one training step: SequenceTagger.fit's step and fit itself, PyTorch's "
        "training loop (Adam, clip_grad_norm_) and the step's GEMM floor",
    )
    kind.add_argument(
        "--infer",
        action="store_true",
        help=f"time predict_proba at m = {', '.join(map(str, INFER_BATCHES))} and "
        f"(n_x, n_a, n_y, T_x) = {INFER_SHAPE}: the course's forward, PyTorch under "
        "inference_mode and ONNX Runtime",
    )
    bench.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="limit BLAS and PyTorch threads (with --infer ONNX Runtime's too) to this many "
        "(threadpoolctl); default unchanged (ONNX Runtime: as many as crnn's BLAS)",
    )
    bench.add_argument("--repeats", type=_positive, default=5, help="timed rounds (default 5)")
    bench.add_argument("--json", metavar="PATH", help="also write the full results as JSON")
    bench.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    bench.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    bench.add_argument(
        "--cell",
        type=_names(CELLS),
        default=list(CELLS),
        help="the recurrent cells, comma-separated: rnn, lstm, gru (default all, in that order)",
    )
    demo = sub.add_parser("demo", help="train a name tagger (or, with 'names', a name generator)")
    demo.add_argument(
        "task",
        nargs="?",
        choices=("tagger", "names"),
        default="tagger",
        help="'tagger' (default): tag person names; 'names': sample new first names",
    )
    demo.add_argument(
        "--cell", default="rnn", help="the recurrent cell: rnn, lstm or gru (default rnn)"
    )
    demo.add_argument("--epochs", type=_positive, default=10, help="training epochs (default 10)")
    demo.add_argument(
        "--n-a", type=_positive, help="hidden units (default 48; names: 50, the course's)"
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the data, weights and shuffling; names: the first sample's seed (default 0)",
    )
    demo.add_argument(
        "--save", metavar="PATH", help="save the fitted tagger to PATH (its encoding to PATH.json)"
    )
    demo.add_argument(
        "--plot",
        metavar="PATH",
        help="write a PNG of the training and validation loss (needs matplotlib)",
    )
    demo.add_argument(
        "--data", metavar="PATH", help="tag a CoNLL file's sentences instead of crnn's data set"
    )
    demo.add_argument(
        "--iterations",
        type=_positive,
        default=20000,
        help="names: training steps, one name each (default 20000)",
    )
    demo.add_argument(
        "--temperature",
        type=_positive_float,
        default=1.0,
        help="names: sampling temperature, below 1 more typical, above 1 more varied (default 1)",
    )
    demo.add_argument(
        "--samples", type=_positive, default=10, help="names: how many names to sample (default 10)"
    )
    args = parser.parse_args(argv)
    if args.command == "check":
        from crnn._check import run_check

        return run_check(repeats=args.repeats, seed=args.seed)
    if args.command == "bench" and (args.train or args.infer):
        from crnn.bench_models import main as run_models_bench

        if args.infer and args.sizes is not None:
            bench.error(
                f"--infer times m = {', '.join(map(str, INFER_BATCHES))} at one shape: "
                "--sizes is for the other benches"
            )
        wrong = [s for s in args.sizes or () if s not in TRAIN_SIZES]
        if wrong:
            bench.error(
                f"--sizes {','.join(wrong)}: with --train, choose from {', '.join(TRAIN_SIZES)}"
            )
        return run_models_bench(
            "train" if args.train else "infer",
            args.sizes,
            args.dtype,
            args.repeats,
            args.threads,
            args.json,
            torch=not args.no_torch,
            seed=args.seed,
            cells=args.cell,
        )
    if args.command == "bench":
        from crnn.bench import main as run_bench

        wrong = [s for s in args.sizes or () if s not in SIZES]
        if wrong:
            bench.error(
                f"--sizes {','.join(wrong)}: choose from {', '.join(SIZES)} "
                f"({', '.join(TRAIN_SIZES)} are sizes of --train)"
            )
        return run_bench(
            args.sizes or list(SIZES),
            args.dtype or list(DTYPES),
            args.repeats,
            args.threads,
            args.json,
            torch=not args.no_torch,
            seed=args.seed,
            cells=args.cell,
        )
    if args.command is None:
        args = parser.parse_args(["demo"])
    if args.task == "names":
        from crnn.charlm import run_names_demo

        return run_names_demo(
            args.iterations, args.n_a or 50, args.temperature, args.samples, args.seed
        )
    from crnn.cells import CELLS
    from crnn.demo import run_demo

    if args.cell not in CELLS:
        parser.error(f"--cell must be one of {sorted(CELLS)}, got {args.cell!r}")
    try:
        run_demo(
            cell=args.cell,
            epochs=args.epochs,
            n_a=args.n_a or 48,
            seed=args.seed,
            save=args.save,
            plot=args.plot,
            data=args.data,
        )
    except (OSError, ValueError) as exc:
        print(f"python -m crnn demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
