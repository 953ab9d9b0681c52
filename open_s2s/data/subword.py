"""SentencePiece subword targets: load a model, train one from training transcripts.

    python -m open_s2s.data.subword --dataset_files data/synth_speech/train.csv \\
        --model_prefix data/bpe/synth --vocab_size 128

trains ``<prefix>.model`` (and ``<prefix>.vocab``) from the transcripts of the CSV /
JSON-lines dataset files; use it with ``data_layer_params: {"bpe": True, "vocab_file":
"<prefix>.model"}`` (OpenSeq2Seq's keys). Models are trained without BOS/EOS/PAD ids,
which CTC has no use for: id 0 is ``<unk>`` and the CTC blank comes after the last piece.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence

from open_s2s.data.audio import DataError
from open_s2s.data.vocab import Vocab


class SentencePieceVocab:
    """Subword targets from a SentencePiece ``.model`` file.

    ``symbols`` are the pieces by id (``"\u2581the"``, ``"s"``, ...), which is what the
    DataSpec carries, so ``open_s2s.data.vocab.ids_to_text`` decodes them.

    Args:
      model_path: the ``.model`` file.

    Raises:
      DataError: when the file is missing or not a SentencePiece model.
    """

    def __init__(self, model_path: str):
        import sentencepiece  # load-time only

        if not os.path.isfile(model_path):
            raise DataError(f"SentencePiece model not found: {model_path}")
        self.processor = sentencepiece.SentencePieceProcessor()
        try:
            self.processor.load(model_path)
        except (OSError, RuntimeError) as e:
            raise DataError(f"{model_path}: not a SentencePiece model ({e})") from e
        self.symbols: Vocab = tuple(self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size()))
        self.unk_id = self.processor.unk_id()

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(text, out_type=int)

    def decode(self, ids: Sequence[int]) -> str:
        """SentencePiece's own decoding (the reference for ``vocab.ids_to_text``)."""
        return self.processor.decode([int(i) for i in ids])

    def unknown(self, text: str) -> list[str]:
        """The characters of ``text`` that the model maps to ``<unk>``."""
        if self.unk_id not in self.encode(text):
            return []
        return sorted({c for c in text if not c.isspace() and self.unk_id in self.encode(c)})


def train_sentencepiece(
    texts: Iterable[str],
    model_prefix: str,
    vocab_size: int,
    model_type: str = "bpe",
    character_coverage: float = 1.0,
) -> str:
    """Trains a SentencePiece model for CTC targets (no BOS/EOS/PAD; ``<unk>`` is id 0).

    Normalisation is ``identity``: transcripts are taken as they are (normalise them
    before, as the data layer sees them), so decoding reproduces them exactly.

    Args:
      texts: training transcripts.
      model_prefix: output path prefix; ``<prefix>.model`` and ``<prefix>.vocab`` are written.
      vocab_size: number of pieces (the CTC decoder adds the blank).
      model_type: ``"bpe"`` or ``"unigram"``.
      character_coverage: fraction of characters covered (1.0 keeps every character).

    Returns:
      The ``.model`` path.
    """
    import sentencepiece  # load-time only

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise DataError("train_sentencepiece: no non-empty transcripts")
    os.makedirs(os.path.dirname(os.path.abspath(model_prefix)), exist_ok=True)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_prefix=model_prefix,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        normalization_rule_name="identity",
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    return model_prefix + ".model"


def main(argv: Sequence[str] | None = None) -> int:
    from open_s2s.data.speech2text.manifests import read_dataset_file

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset_files", nargs="+", required=True, help="CSV or JSON-lines dataset files")
    parser.add_argument("--model_prefix", required=True, help="writes <prefix>.model and <prefix>.vocab")
    parser.add_argument("--vocab_size", type=int, default=256)
    parser.add_argument("--model_type", choices=("bpe", "unigram"), default="bpe")
    parser.add_argument("--character_coverage", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        texts = [e.transcript for path in args.dataset_files for e in read_dataset_file(path, check_paths=False)]
        model = train_sentencepiece(texts, args.model_prefix, args.vocab_size, args.model_type, args.character_coverage)
    except (DataError, RuntimeError) as e:  # sentencepiece reports bad settings as RuntimeError
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {model} ({args.vocab_size} pieces from {len(texts)} transcripts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
