"""Tests of open_s2s.data.vocab (OpenSeq2Seq char vocab files)."""

import string

import pytest
import tensorflow as tf

from open_s2s.data import vocab as V

ENGLISH = [" "] + list(string.ascii_lowercase) + ["'"]


@pytest.fixture
def vocab_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    return str(path)


def test_first_line_space_is_preserved(vocab_file):
    vocab = V.load_vocab(vocab_file)
    assert vocab[0] == " "
    assert vocab == tuple(ENGLISH)


def test_crlf_and_missing_final_newline(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b" \r\na\r\nb")
    assert V.load_vocab(str(path)) == (" ", "a", "b")


@pytest.mark.parametrize("content, message", [(" \n\nb\n", ":2:"), (" \nab\n", ":2:"), (" \na\na\n", "duplicate")])
def test_bad_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        V.load_vocab(str(path))


def test_python_round_trip(vocab_file):
    vocab = V.load_vocab(vocab_file)
    text = "it's a test"
    ids = V.text_to_ids(text, vocab)
    assert ids[2] == 27 and ids[4] == 0
    assert V.ids_to_text(ids, vocab) == text


def test_unknown_characters_are_named(vocab_file):
    vocab = V.load_vocab(vocab_file)
    assert V.unknown_chars("Hello, world!", vocab) == ["!", ",", "H"]
    with pytest.raises(KeyError, match="H"):
        V.text_to_ids("Hello", vocab)


def test_graph_round_trip(vocab_file):
    vocab = V.load_vocab(vocab_file)
    table = V.lookup_table(vocab)

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def round_trip(text):
        ids = V.tf_text_to_ids(text, table)
        return ids, V.tf_ids_to_text(ids, vocab)

    ids, text = round_trip(tf.constant("don't stop"))
    assert ids.numpy().tolist() == V.text_to_ids("don't stop", vocab)
    assert text.numpy().decode() == "don't stop"
    assert V.tf_text_to_ids(tf.constant("a?"), table).numpy().tolist() == [1, -1]
