"""The CoNLL reader, the entity spans and scores, and the data crnn ships."""

import pytest

from crnn import datasets
from crnn.datasets import ConllError, entities, entity_scores, parse_conll, read_conll


def test_reads_sentences_separated_by_blank_lines(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("Harry B-PER\nPotter I-PER\nsmiled O\n\n\nHe O\nleft O\n", encoding="utf-8")
    assert read_conll(path) == [
        (["Harry", "Potter", "smiled"], ["B-PER", "I-PER", "O"]),
        (["He", "left"], ["O", "O"]),
    ]


def test_untidy_input_trailing_spaces_extra_columns_docstart_and_crlf():
    lines = [
        "-DOCSTART- -X- -X- O\r\n",
        "\r\n",
        "EU NNP B-NP B-ORG   \r\n",  # CoNLL-2003's four columns: the tag is the last
        "rejects VBZ B-VP O\t\r\n",
        "   \r\n",
        "\tPeter NNP B-NP B-PER\n",
        "-DOCSTART- -X- -X- O\n",
        "Blackburn NNP B-NP I-PER",  # no newline at the end of the file
    ]
    assert parse_conll(lines) == [
        (["EU", "rejects"], ["B-ORG", "O"]),
        (["Peter"], ["B-PER"]),
        (["Blackburn"], ["I-PER"]),
    ]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- O\n\n"])
def test_files_without_sentences_give_none(tmp_path, text):
    path = tmp_path / "empty.conll"
    path.write_text(text, encoding="utf-8")
    assert read_conll(path) == []


def test_a_line_without_a_tag_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("Harry B-PER\n\nPotter\n", encoding="utf-8")
    with pytest.raises(
        ConllError, match=r"bad\.conll, line 3: expected a token and a tag.*'Potter'"
    ):
        read_conll(path)


def test_a_tag_that_is_not_bio_is_an_error_naming_the_line():
    with pytest.raises(ConllError, match=r"<input>, line 2: the tag 'PER'"):
        parse_conll(["Harry B-PER\n", "Potter PER\n"])


def test_entities_follow_bio_and_iob1():
    tags = ["B-PER", "I-PER", "O", "I-PER", "B-PER", "I-LOC", "I-LOC"]
    assert entities(tags) == {(0, 2, "PER"), (3, 4, "PER"), (4, 5, "PER"), (5, 7, "LOC")}
    assert entities([]) == set()


def test_entity_scores_count_exact_spans_only():
    truth = [["B-PER", "I-PER", "O"], ["B-PER", "O", "O"]]
    guess = [["B-PER", "O", "O"], ["B-PER", "O", "B-PER"]]
    # one of three guessed names is right, one of two true names is found
    precision, recall, f1 = entity_scores(truth, guess)
    assert (precision, recall) == pytest.approx((1 / 3, 1 / 2))
    assert f1 == pytest.approx(0.4)
    assert entity_scores([["O"]], [["O"]]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        entity_scores(truth, guess[:1])


def test_tokenize_and_detokenize_the_seed_sentence():
    words = datasets.tokenize("Yesterday, Harry Potter met Dr. Hermione Granger.")
    assert words == ["Yesterday", ",", "Harry", "Potter", "met", "Dr.", "Hermione", "Granger", "."]
    assert datasets.detokenize(words) == "Yesterday, Harry Potter met Dr. Hermione Granger."
    # a template's "{P}'s" keeps the possessive whole, after the name's own token
    ((tokens, tags),) = datasets.name_sentences(1, ["Ada"], ["Lovelace"], 0, ["{P}'s book sold."])
    assert tokens[-4:] == ["'s", "book", "sold", "."] and tags[-4:] == ["O"] * 4


def test_shipped_names_and_template_sentences():
    first, last = datasets.load_names()
    assert len(first) > 1000 and len(last) > 1000
    assert first[:2] == ["Mary", "James"] and last[0] == "Smith"  # the Census's most frequent
    assert all(n.isalpha() and n[0].isupper() for n in first + last)
    sentences = datasets.name_sentences(50, ["Ada"], ["Lovelace"], seed=1)
    assert sentences == datasets.name_sentences(50, ["Ada"], ["Lovelace"], seed=1)
    for tokens, tags in sentences:
        assert len(tokens) == len(tags)
        names = [t for t, tag in zip(tokens, tags) if tag != "O"]
        assert names and set(names) <= {"Ada", "Lovelace"}


def test_a_byte_order_mark_is_not_part_of_the_first_token(tmp_path):
    path = tmp_path / "bom.conll"
    path.write_text("Harry B-PER\nsmiled O\n", encoding="utf-8-sig")
    assert read_conll(path) == [(["Harry", "smiled"], ["B-PER", "O"])]
    assert parse_conll(["\ufeffHarry B-PER\n"]) == [(["Harry"], ["B-PER"])]


@pytest.mark.parametrize("space", ["\u00a0", "\u2028", "\u3000"])
def test_a_token_keeps_non_ascii_whitespace(tmp_path, space):
    path = tmp_path / "a.conll"
    path.write_text(f"New{space}York B-LOC\nis O\n", encoding="utf-8")
    assert read_conll(path) == [([f"New{space}York", "is"], ["B-LOC", "O"])]


def test_invalid_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.conll"
    path.write_bytes("Harry B-PER\n\nZo\u00eb B-PER\n".encode("latin-1"))
    with pytest.raises(ConllError, match=r"latin1.conll, line 3: not valid UTF-8"):
        read_conll(path)


def test_the_message_for_a_huge_bad_line_stays_short():
    line = "x" * 10_000_000 + "\n"
    with pytest.raises(ConllError) as info:
        parse_conll([line])
    assert len(str(info.value)) < 300 and "10000000 characters" in str(info.value)
    with pytest.raises(ConllError) as info:
        parse_conll(["token " + "Q" * 10_000_000 + "\n"])
    assert len(str(info.value)) < 300
