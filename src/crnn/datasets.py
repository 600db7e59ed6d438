"""Name-tagging data: the CoNLL reader, the data set crnn ships, and entity scores.

Tags follow the BIO convention: ``O`` outside any name, ``B-TYPE`` on the first token of
a name of type TYPE and ``I-TYPE`` on the tokens after it (an ``I-`` tag that follows
``O`` or another type starts a name, as in CoNLL-2003's IOB1 files). A sentence is a
pair (tokens, tags) of equally long lists of strings.
"""

import re
from importlib import resources

import numpy as np

__all__ = [
    "ConllError",
    "parse_conll",
    "read_conll",
    "tokenize",
    "detokenize",
    "load_names",
    "load_templates",
    "name_sentences",
    "entities",
    "entity_scores",
]

_TAG = re.compile(r"O|[BI]-[^ \t]+")
_TOKEN = re.compile(r"(?:Mrs|Mr|Ms|Dr)\.|'s\b|\w+(?:['’-]\w+)*|[^\w\s]")
_TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.")


class ConllError(ValueError):
    """A line of a CoNLL file that is not a token and its tag."""


#: How much of a refused line an error message shows.
_ECHO = 80
#: Columns are separated by ASCII spaces and tabs only: a token may hold any other
#: character, a non-breaking space or a line separator included.
_COLUMNS = re.compile(r"[ \t]+")


def _echo(line):
    """line for an error message, cut to its first _ECHO characters."""
    line = line.rstrip("\r\n")
    return repr(line) if len(line) <= _ECHO else f"{line[:_ECHO]!r}... ({len(line)} characters)"


def parse_conll(lines, source="<input>"):
    """Sentences from CoNLL lines: a token and its tag per line, blank lines between sentences.

    The token is the first column and the tag the last, so that CoNLL-2003's four columns
    (token, part of speech, chunk, name tag) read as they are. Columns are separated by
    ASCII spaces and tabs: a token keeps any other character (a non-breaking space, say).
    ``-DOCSTART-`` lines end a sentence and are skipped; a byte-order mark before the
    first line is ignored.

    Arguments:
    lines -- iterable of strings (an open text file)
    source -- what error messages call the input, e.g. the file's path

    Returns:
    sentences -- list of (tokens, tags), two lists of strings of the same length
    """
    sentences, tokens, tags = [], [], []

    def end_sentence():
        if tokens:
            sentences.append((tokens[:], tags[:]))
            tokens.clear()
            tags.clear()

    for number, line in enumerate(lines, 1):
        if number == 1:
            line = line.removeprefix("\ufeff")
        fields = _COLUMNS.split(line.strip(" \t\r\n"))
        if fields == [""] or fields[0] == "-DOCSTART-":
            end_sentence()
            continue
        if len(fields) < 2:
            raise ConllError(
                f"{source}, line {number}: expected a token and a tag separated by "
                f"spaces or tabs, got {_echo(line)}"
            )
        if not _TAG.fullmatch(fields[-1]):
            raise ConllError(
                f"{source}, line {number}: the tag {_echo(fields[-1])} (the last column) is "
                f"not O, B-TYPE or I-TYPE"
            )
        tokens.append(fields[0])
        tags.append(fields[-1])
    end_sentence()
    return sentences


def _utf8_lines(f, source):
    """The lines of binary file f decoded from UTF-8; ConllError naming the line if one is not."""
    for number, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConllError(
                f"{source}, line {number}: not valid UTF-8 (byte {exc.start} of the line is "
                f"{raw[exc.start : exc.start + 1]!r})"
            ) from None


def read_conll(path):
    """The sentences of the CoNLL file at path (UTF-8, with or without a byte-order
    mark); see parse_conll."""
    with open(path, "rb") as f:
        return parse_conll(_utf8_lines(f, str(path)), str(path))


def tokenize(text):
    """Split text into words and punctuation, keeping the titles Mr., Mrs., Ms. and Dr. whole."""
    return _TOKEN.findall(text)


def detokenize(tokens):
    """Tokens joined by spaces, without the space before closing punctuation."""
    return re.sub(r" ([.,;:!?)])", r"\1", " ".join(tokens))


def _data_lines(filename):
    text = resources.files("crnn").joinpath("data", filename).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_names():
    """The first names and surnames crnn ships (see crnn/data/README.md).

    Returns:
    first -- list of first names, most frequent first
    last -- list of surnames, most frequent first
    """
    return _data_lines("first_names.txt"), _data_lines("last_names.txt")


def load_templates():
    """The sentence templates crnn ships, each with one or more "{P}" for a person's name."""
    return _data_lines("templates.txt")


def _person(first, last, rng):
    """One mention of a person: its tokens and tags."""
    form = rng.random()
    if form < 0.5:
        return [rng.choice(first), rng.choice(last)], ["B-PER", "I-PER"]
    if form < 0.65:
        return [rng.choice(first)], ["B-PER"]
    if form < 0.85:
        return [rng.choice(_TITLES), rng.choice(last)], ["O", "B-PER"]
    return [rng.choice(first), rng.choice(first), rng.choice(last)], ["B-PER", "I-PER", "I-PER"]


def name_sentences(n, first, last, seed=None, templates=None):
    """n tagged sentences made from templates and the given names.

    Arguments:
    n -- how many sentences
    first, last -- the first names and surnames to draw from
    seed -- int or numpy.random.Generator
    templates -- list of templates; crnn's (load_templates()) when None

    Returns:
    sentences -- list of (tokens, tags), names tagged B-PER / I-PER
    """
    rng = np.random.default_rng(seed)
    if templates is None:
        templates = load_templates()
    sentences = []
    for _ in range(n):
        tokens, tags = [], []
        for i, part in enumerate(rng.choice(templates).split("{P}")):
            if i:
                words, labels = _person(first, last, rng)
                tokens += words
                tags += labels
            words = tokenize(part)
            tokens += words
            tags += ["O"] * len(words)
        sentences.append(([str(t) for t in tokens], tags))
    return sentences


def entities(tags):
    """The names in a tag sequence, as a set of (first token, end token, type)."""
    spans, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, this = tag.partition("-")
        if start is not None and (prefix != "I" or this != kind):
            spans.add((start, i, kind))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, this
    return spans


def entity_scores(true_tags, predicted_tags):
    """Entity-level precision, recall and F1: a name counts only when its span and type match.

    Arguments:
    true_tags, predicted_tags -- lists of tag sequences, sentence by sentence

    Returns:
    precision, recall, f1 -- Python floats (0.0 when undefined)
    """
    found = expected = correct = 0
    for truth, guess in zip(true_tags, predicted_tags, strict=True):
        t, g = entities(truth), entities(guess)
        found += len(g)
        expected += len(t)
        correct += len(t & g)
    precision = correct / found if found else 0.0
    recall = correct / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
