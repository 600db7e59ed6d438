"""``python -m crnn demo``: train a name tagger on the data crnn ships, score it, and time it.

The input of a token is its word's vector in a small fixed random embedding (of the
frequent words of the training sentences that are never part of a name, so that every
name is unknown, a zero vector) next to word-shape features (unknown word, capitalised,
all capitals, digits, punctuation, first token, title). A name the model never saw is
therefore only an unknown capitalised word: telling it from "Yesterday" or "London"
takes the context the RNN carries.
"""

import contextlib
import json
import time
from collections import Counter

import numpy as np

from crnn import datasets, reference
from crnn.cells import get_cell
from crnn.losses import softmax_cross_entropy
from crnn.models import SequenceTagger
from crnn.training import loss_and_grads

__all__ = ["Encoder", "run_demo", "capitalised_baseline", "SEED_SENTENCE"]

SEED_SENTENCE = "Yesterday, Harry Potter met Hermione Granger."
EXAMPLES = (
    SEED_SENTENCE,
    "On Monday Dr. Watson flew to London with Mary Morstan.",
    "In April, Ada Lovelace wrote to Charles Babbage from Paris.",
)
_SHAPES = (
    "<pad>",
    "unknown word",
    "capitalised",
    "all capitals",
    "all lower case",
    "has a digit",
    "punctuation",
    "first token",
    "title",
)


def _shape(token, i, known):
    return (
        False,
        not known,
        token[:1].isupper(),
        token.isupper() and len(token) > 1,
        token.islower(),
        any(c.isdigit() for c in token),
        not any(c.isalnum() for c in token),
        i == 0,
        token.endswith(".") and len(token) > 1,
    )


class Encoder:
    """Token features and tag indices for a SequenceTagger.

    Arguments:
    min_count -- a word enters the vocabulary when it occurs this often in training
    dim -- the size of the word vectors
    seed -- seeds the word vectors: standard normal / sqrt(dim), fixed, not trained
    """

    def __init__(self, min_count=2, dim=24, seed=0):
        self.min_count = min_count
        self.dim = dim
        self.seed = seed

    def fit(self, sentences):
        """Learn the vocabulary and the tag set from training sentences; returns self."""
        counts, in_names = Counter(), set()
        tags = {"O"}
        for tokens, labels in sentences:
            for token, tag in zip(tokens, labels):
                counts[token.lower()] += 1
                tags.add(tag)
                if tag != "O":
                    in_names.add(token.lower())
        words = sorted(w for w, c in counts.items() if c >= self.min_count and w not in in_names)
        self.vocabulary_ = {w: i for i, w in enumerate(words)}
        rng = np.random.default_rng(self.seed)
        self.embedding_ = rng.standard_normal((len(words), self.dim)) / np.sqrt(self.dim)
        self.tags_ = sorted(tags, key=lambda t: (t != "O", t[2:], t))
        return self

    @property
    def n_x(self):
        return len(_SHAPES) + self.dim

    def transform(self, sentences, dropout=0.0, seed=None):
        """x (n_x, m, T_x) and tag indices y (m, T_x), padded with <pad> steps tagged O.

        Arguments:
        sentences -- list of (tokens, tags)
        dropout -- the probability that a known word is encoded as unknown, for training:
                   the model then learns what the context says about unknown words
        seed -- int or numpy.random.Generator for the dropout

        Returns:
        x, y -- the arrays; lengths -- list of the sentences' lengths
        """
        lengths = [len(tokens) for tokens, _ in sentences]
        T = max(lengths, default=0)
        x = np.zeros((self.n_x, len(sentences), T), order="F")
        y = np.zeros((len(sentences), T), np.intp)
        x[0] = 1.0  # <pad> until a token overwrites the step
        index = {t: i for i, t in enumerate(self.tags_)}
        rng = np.random.default_rng(seed)
        for j, (tokens, labels) in enumerate(sentences):
            for i, token in enumerate(tokens):
                word = self.vocabulary_.get(token.lower())
                if dropout and rng.random() < dropout:
                    word = None
                x[: len(_SHAPES), j, i] = _shape(token, i, word is not None)
                x[len(_SHAPES) :, j, i] = 0.0 if word is None else self.embedding_[word]
                y[j, i] = index.get(labels[i], 0)
        return x, y, lengths

    def tags(self, y, lengths):
        """Tag strings from tag indices (m, T_x), cut to each sentence's length."""
        return [[self.tags_[k] for k in row[:n]] for row, n in zip(y, lengths)]

    def to_json(self):
        return json.dumps(
            {
                "min_count": self.min_count,
                "vocabulary": list(self.vocabulary_),
                "embedding": self.embedding_.tolist(),
                "tags": self.tags_,
                "shapes": list(_SHAPES),
            }
        )


def capitalised_baseline(sentences):
    """Tags that call every run of capitalised words a person's name."""
    predicted = []
    for tokens, _ in sentences:
        tags, inside = [], False
        for token in tokens:
            cap = token[:1].isupper()
            tags.append(("I-PER" if inside else "B-PER") if cap else "O")
            inside = cap
        predicted.append(tags)
    return predicted


def builtin_data(seed, n_train=2000, n_test=400):
    """Train and test sentences from crnn's templates; a fifth of the names is held out for
    the test sentences, so that no test name occurs in training."""
    rng = np.random.default_rng(seed)
    first, last = datasets.load_names()
    first, last = list(rng.permutation(first)), list(rng.permutation(last))
    cut_f, cut_l = len(first) // 5, len(last) // 5
    seen = set(first[cut_f:]) | set(last[cut_l:])  # "James" is a first name and a surname
    train = datasets.name_sentences(n_train, first[cut_f:], last[cut_l:], rng)
    test = datasets.name_sentences(
        n_test,
        [n for n in first[:cut_f] if n not in seen],
        [n for n in last[:cut_l] if n not in seen],
        rng,
    )
    return train, test


def conll_data(path, seed, test_fraction=0.2):
    """A CoNLL file's sentences, split at random into train and test."""
    sentences = datasets.read_conll(path)
    if len(sentences) < 2:
        raise ValueError(f"{path} holds {len(sentences)} sentences; the demo needs at least 2")
    order = np.random.default_rng(seed).permutation(len(sentences))
    n_test = max(1, round(test_fraction * len(sentences)))
    return [sentences[i] for i in order[n_test:]], [sentences[i] for i in order[:n_test]]


def _reference_loss_and_grads(x, y, a0, parameters, cell):
    """The same loss and gradients as crnn.training.loss_and_grads, from crnn.reference."""
    outputs = getattr(reference, f"{cell}_forward")(x, a0, parameters)
    a, caches = outputs[0], outputs[-1]
    weight = get_cell(cell).output_weight
    W = parameters[weight]
    z = np.einsum("ya,amt->ymt", W, a) + parameters["by"][:, :, None]
    loss, dz = softmax_cross_entropy(z, y, "mean")
    head = {"d" + weight: np.einsum("ymt,amt->ya", dz, a), "dby": dz.sum(axis=(1, 2))[:, None]}
    gradients = getattr(reference, f"{cell}_backward")(np.einsum("ya,ymt->amt", W, dz), caches)
    gradients.update(head)
    return loss, gradients


def time_epoch(model, x, y, lengths, repeats=3):
    """Seconds for the loss and gradients of every minibatch of one epoch, crnn and crnn.reference.

    The minibatches are fit's: sentences of similar lengths, each batch cut to its
    longest. crnn runs each sentence for its own length; the course's numpy code, which
    has no lengths, runs the batch's padding too (<pad> steps tagged O). Both compute, on
    the fitted parameters, the forward pass, the output layer, the mean cross-entropy and
    the backward pass (no optimizer step); each time is the best of repeats passes over
    the epoch.

    Returns:
    crnn_seconds, reference_seconds (reference_seconds is None when crnn.reference has no
    forward and backward of the cell)
    """
    b, p, cell = model.batch_size, model.parameters_, model.cell
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    batches = []
    for lo in range(0, x.shape[1], b):
        idx = order[lo : lo + b]
        T = int(lengths[idx].max())
        # C-ordered, as fit's minibatches are (x[:, idx] makes a C-ordered copy)
        batches.append((np.ascontiguousarray(x[:, idx, :T]), y[idx, :T], lengths[idx]))
    steps = [
        lambda xb, yb, a0, lb: loss_and_grads(
            xb, yb, a0, p, "softmax", "mean", "sequence", cell, lb
        )
    ]
    if hasattr(reference, f"{cell}_backward"):
        steps.append(lambda xb, yb, a0, lb: _reference_loss_and_grads(xb, yb, a0, p, cell))
    times = []
    for step in steps:
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            for xb, yb, lb in batches:
                step(xb, yb, np.zeros((model.n_a, xb.shape[1])), lb)
            best = min(best, time.perf_counter() - start)
        times.append(best)
    return times[0], (times[1] if len(times) > 1 else None)


def mark(tokens, tags):
    """The sentence with every name in [brackets]."""
    words = list(tokens)
    for start, end, _ in sorted(datasets.entities(tags)):
        words[start] = "[" + words[start]
        words[end - 1] = words[end - 1] + "]"
    return datasets.detokenize(words)


def _pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or a clear error before any training."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install 'crnn[plot]'") from None
    return plt


def _plot(plt, model, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(model.loss_curve_) + 1)
    ax.plot(epochs, model.loss_curve_, label="training")
    ax.plot(epochs, model.validation_loss_curve_, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean cross-entropy per token")
    ax.set_yscale("log")
    ax.set_title(
        f"SequenceTagger({model.cell!r}, n_a={model.n_a}): validation = "
        f"{model.validation_fraction:.0%} of the training sentences",
        fontsize=9,
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _one_blas_thread():
    """Limit BLAS to one thread where threadpoolctl is installed: the demo's matrices are
    small, and on a busy machine a second BLAS thread slows crnn and numpy down alike."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def run_demo(
    cell="rnn",
    epochs=10,
    n_a=48,
    seed=0,
    save=None,
    plot=None,
    data=None,
    n_train=2000,
    n_test=400,
    dropout=0.2,
    verbose=True,
    out=print,
):
    """Train, score and time a name tagger; print a report.

    Arguments:
    cell, epochs, n_a, seed -- of the SequenceTagger
    save -- path for the fitted model (and path + ".json" for the encoder), or None
    plot -- path of a PNG of the training and validation loss, or None
    data -- a CoNLL file to use instead of crnn's data set, or None
    n_train, n_test -- sentences of crnn's data set
    dropout -- the probability that a training word is encoded as unknown (Encoder.transform)
    verbose -- show the progress bar
    out -- where the lines of the report go

    Returns:
    scores -- dict with "accuracy", "precision", "recall", "f1", "baseline_f1" on the test
              sentences, "epoch_seconds" and "reference_epoch_seconds"
    """
    with _one_blas_thread():
        return _run_demo(
            cell, epochs, n_a, seed, save, plot, data, n_train, n_test, dropout, verbose, out
        )


def _run_demo(cell, epochs, n_a, seed, save, plot, data, n_train, n_test, dropout, verbose, out):
    plt = None if plot is None else _pyplot()
    if data is None:
        train, test = builtin_data(seed, n_train, n_test)
        out(
            f"crnn's name data: {len(train)} training sentences, {len(test)} held-out sentences "
            f"whose names never occur in training"
        )
    else:
        train, test = conll_data(data, seed)
        out(f"{data}: {len(train)} training sentences, {len(test)} held-out sentences")
    encoder = Encoder().fit(train)
    x, y, train_lengths = encoder.transform(train, dropout, seed)
    out(
        f"inputs: {encoder.n_x} features per token ({len(_SHAPES)} shape features + a "
        f"{encoder.dim}-vector for each of {len(encoder.vocabulary_)} words), tags {encoder.tags_}"
    )
    model = SequenceTagger(
        cell=cell,
        n_a=n_a,
        epochs=epochs,
        seed=seed,
        learning_rate=0.01,
        batch_size=32,
        early_stopping=True,
        n_iter_no_change=epochs,
        verbose=verbose,
    )
    start = time.perf_counter()
    model.fit(x, y, lengths=train_lengths)  # each sentence for its own length
    fit_seconds = time.perf_counter() - start

    x_test, y_test, lengths = encoder.transform(test)
    truth = [tags for _, tags in test]
    predicted = encoder.tags(model.predict(x_test, lengths=lengths), lengths)
    tokens = sum(lengths)
    accuracy = sum(t == p for ts, ps in zip(truth, predicted) for t, p in zip(ts, ps)) / max(
        tokens, 1
    )
    precision, recall, f1 = datasets.entity_scores(truth, predicted)
    baseline_f1 = datasets.entity_scores(truth, capitalised_baseline(test))[2]
    out(
        f"held-out: token accuracy {accuracy:.3f}, names: precision {precision:.3f}, "
        f"recall {recall:.3f}, F1 {f1:.3f} (tagging every capitalised word: F1 {baseline_f1:.3f})"
    )

    for text in EXAMPLES:
        words = datasets.tokenize(text)
        xs, _, n = encoder.transform([(words, ["O"] * len(words))])
        out("  " + mark(words, encoder.tags(model.predict(xs), n)[0]))

    crnn_epoch, ref_epoch = time_epoch(model, x, y, train_lengths)
    out(
        f"training: {model.n_epochs_} epochs in {fit_seconds:.2f} s "
        f"({fit_seconds / model.n_epochs_:.3f} s per epoch with Adam and the validation loss)"
    )
    line = (
        f"loss and gradients of one epoch's {int(np.ceil(x.shape[1] / model.batch_size))} "
        f"minibatches: crnn {crnn_epoch:.3f} s (each sentence for its own length)"
    )
    if ref_epoch is None:
        line += f"; crnn.reference has no {cell} backward to compare with"
    else:
        line += (
            f", crnn.reference {ref_epoch:.3f} s (padded to each batch's longest; crnn "
            f"takes {crnn_epoch / ref_epoch:.2f} of its time)"
        )
    out(line)
    if save is not None:
        model.save(save)
        with open(str(save) + ".json", "w", encoding="utf-8") as f:
            f.write(encoder.to_json())
        out(f"saved the model to {save} and its input encoding to {save}.json")
    if plot is not None:
        _plot(plt, model, plot)
        out(f"wrote the loss curves to {plot}")
    return {
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "baseline_f1": baseline_f1,
        "epoch_seconds": crnn_epoch,
        "reference_epoch_seconds": ref_epoch,
    }
