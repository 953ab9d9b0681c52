"""Trains SentencePiece models for ParallelTextDataLayer from raw training text files.

    python -m open_s2s.data.text2text.sentencepiece --input train.en train.es \\
        --model_prefix data/synth_nmt/spm --vocab_size 4000 --joint

``--joint`` trains one model on all inputs (``<prefix>.model``, for
``sentencepiece_model``); without it, one model per input file, named by the file's
extension (``train.en`` -> ``<prefix>.en.model``, for ``src_sentencepiece_model`` /
``tgt_sentencepiece_model``). Models have OpenSeq2Seq's special ids (pad 0, eos 1, bos 2,
unk 3, as its ``tokenizer_wrapper.py``), so ids line up with ``SpecialTextTokens``;
the ``.vocab`` file written next to a model is a valid ``src_vocab_file`` for files of
pieces (``special_tokens_already_in_vocab: True``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence

from open_s2s.data.audio import DataError
from open_s2s.data.text2text.special_tokens import EOS_ID, PAD_ID, S_ID, UNK_ID
from open_s2s.data.text2text.text_files import read_lines


def train_sentencepiece(
    texts: Iterable[str],
    model_prefix: str,
    vocab_size: int,
    model_type: str = "bpe",
    character_coverage: float = 1.0,
    normalization: str = "nmt_nfkc",
    input_sentence_size: int = 2_000_000,
) -> str:
    """Trains a SentencePiece model with OpenSeq2Seq's special ids.

    Args:
      texts: training sentences (raw text).
      model_prefix: writes ``<prefix>.model`` and ``<prefix>.vocab``.
      vocab_size: number of pieces, the four special ones included.
      model_type: ``"bpe"`` (OpenSeq2Seq's choice) or ``"unigram"``.
      character_coverage: fraction of characters covered (1.0: every character).
      normalization: SentencePiece's normalization rule (``nmt_nfkc`` its default for
        NMT; ``identity`` keeps text byte for byte).
      input_sentence_size: at most this many sentences (a random sample) train the model.

    Returns:
      The ``.model`` path.
    """
    import sentencepiece  # noqa: PLC0415  (load-time only)

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise DataError("train_sentencepiece: no non-empty sentences")
    os.makedirs(os.path.dirname(os.path.abspath(model_prefix)), exist_ok=True)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_prefix=model_prefix,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        normalization_rule_name=normalization,
        pad_id=PAD_ID,
        eos_id=EOS_ID,
        bos_id=S_ID,
        unk_id=UNK_ID,
        input_sentence_size=input_sentence_size,
        shuffle_input_sentence=True,
        minloglevel=2,
    )
    return model_prefix + ".model"


def _model_prefixes(inputs: Sequence[str], model_prefix: str, joint: bool) -> dict[str, list[str]]:
    """``{prefix: input files}``: one joint prefix, or one per input named by its extension."""
    if joint:
        return {model_prefix: list(inputs)}
    suffixes = [os.path.splitext(path)[1] for path in inputs]
    if len(set(suffixes)) != len(inputs) or not all(suffixes):
        raise DataError(
            f"without --joint every input needs its own extension (e.g. train.en train.es) to name its model; "
            f"got {list(inputs)}"
        )
    return {model_prefix + suffix: [path] for path, suffix in zip(inputs, suffixes)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="+", required=True, help="raw text files, one sentence per line")
    parser.add_argument("--model_prefix", required=True, help="writes <prefix>[.<ext>].model and .vocab")
    parser.add_argument("--vocab_size", type=int, default=8000)
    parser.add_argument("--joint", action="store_true", help="one model for all inputs (source and target)")
    parser.add_argument("--model_type", choices=("bpe", "unigram"), default="bpe")
    parser.add_argument("--character_coverage", type=float, default=1.0)
    parser.add_argument("--normalization", default="nmt_nfkc", help="SentencePiece normalization rule")
    parser.add_argument("--input_sentence_size", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    try:
        for prefix, paths in _model_prefixes(args.input, args.model_prefix, args.joint).items():
            texts = [line for path in paths for line in read_lines(path, allow_empty=True)]
            model = train_sentencepiece(
                texts,
                prefix,
                args.vocab_size,
                args.model_type,
                args.character_coverage,
                args.normalization,
                args.input_sentence_size,
            )
            print(f"wrote {model} ({args.vocab_size} pieces from {len(texts)} lines of {', '.join(paths)})")
    except (DataError, RuntimeError) as e:  # sentencepiece reports bad settings as RuntimeError
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
