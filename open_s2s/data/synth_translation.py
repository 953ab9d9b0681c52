"""Builds an English -> Spanish parallel corpus on this machine, with Apertium.

Nothing can be downloaded here, so the corpus is made: English sentences from
:mod:`open_s2s.data.synth_text` (a seeded template grammar; every sentence occurs at most
once in the corpus, so dev and test hold only sentences that train never sees), translated
by Apertium (``apertium -u eng-spa``), a rule-based MT system packaged in Debian. The
Spanish side has real morphology (gender and number agreement, verb conjugation, clitics,
pro-drop) and word order (adjectives after nouns), so a model must learn context, not a
word list: the word-by-word baseline below measures how far a lexicon gets.

* English is truecased before translation, because Apertium translates lower-case names
  as words ("mark", "grace") and leaves lower-case months and days untranslated: the
  first word, the names of ``synth_text.NAMES``, months, days and "I" are capitalised,
  and every sentence ends with a period.
* Apertium's output is cleaned: ``-u`` drops the ``*`` of unknown words; ``#`` and ``@``
  marks (generation/transfer gaps; the English input never contains them) are removed,
  runs of spaces (left by dropped words) collapsed, and the leading space of pro-drop
  output ("Comió" from "He ate") stripped.

Outputs under ``--out``::

    {train,dev,test}.{en,es}          raw text, one sentence per line (line-aligned)
    spm.model, spm.vocab              joint SentencePiece model (pad 0, eos 1, bos 2, unk 3)
                                      trained on train.en + train.es
    {train,dev,test}.tok.{en,es}      the same sentences as space-separated word tokens
    vocab.tok.{en,es}                 their vocabularies from train (specials first, token<TAB>count)
    metadata.json                     settings, tool versions, timings and statistics

``ParallelTextDataLayer`` reads either form: raw text with ``sentencepiece_model:
spm.model``, or (OpenSeq2Seq's layout) ``*.tok.*`` files with ``src_vocab_file`` /
``tgt_vocab_file``. The statistics include a word-by-word lexicon baseline's SacreBLEU
on test (each English word type of train translated alone by Apertium).

System dependencies: ``apertium`` and ``apertium-eng-spa`` (``make setup`` installs them).

Usage:
    python -m open_s2s.data.synth_translation --out data/synth_nmt
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from open_s2s.data import synth_text
from open_s2s.data.text2text.special_tokens import SPECIAL_TOKENS

SPLITS = ("train", "dev", "test")
LANGS = ("en", "es")
DIRECTION = "eng-spa"
FORMAT_VERSION = 1  # bump when the corpus would change for equal flags
INSTALL_HINT = "run `make setup` (or `apt-get install apertium apertium-eng-spa`)"
CHUNK = 4000  # sentences per apertium process: amortises its ~0.3 s start-up

MONTHS = ("january february march april may june july august september october november december").split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_PROPER = {w: w.capitalize() for w in [*synth_text.NAMES, *MONTHS, *DAYS]}
_WORD_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


class MissingDependencyError(RuntimeError):
    """apertium or its eng-spa data is not installed."""


# ---------------------------------------------------------------------------
# Text processing.
# ---------------------------------------------------------------------------


def truecase(sentence: str) -> str:
    """A lower-case ``synth_text`` sentence as English writes it, ending with a period.

    >>> truecase("yesterday i met john in may")
    'Yesterday I met John in May.'
    """
    words = []
    for word in sentence.split():
        if word == "i" or word.startswith("i'"):
            word = "I" + word[1:]
        words.append(_PROPER.get(word, word))
    text = " ".join(words)
    return text[:1].upper() + text[1:] + "."


def clean_translation(text: str) -> str:
    """Apertium output without its marks: ``#``/``@``/``*`` removed, spaces collapsed and stripped."""
    return " ".join(re.sub(r"[#@*]", "", text).split())


def word_tokens(text: str) -> list[str]:
    """Word tokens for the OpenSeq2Seq-format files: words (with inner apostrophes) and punctuation."""
    return _WORD_TOKEN.findall(text)


# ---------------------------------------------------------------------------
# Apertium.
# ---------------------------------------------------------------------------


def check_apertium() -> None:
    """Raises MissingDependencyError unless ``apertium`` can translate eng-spa."""
    if shutil.which("apertium") is None:
        raise MissingDependencyError(f"apertium is not installed; {INSTALL_HINT}")
    listed = subprocess.run(["apertium", "-l"], capture_output=True, text=True, check=False).stdout.split()
    if DIRECTION not in listed:
        raise MissingDependencyError(f"apertium has no {DIRECTION} pair (apertium-eng-spa); {INSTALL_HINT}")


def _apertium(lines: Sequence[str]) -> list[str]:
    """Translates lines with one apertium process; one output line per input line."""
    proc = subprocess.run(
        ["apertium", "-u", DIRECTION], input="\n".join(lines) + "\n", capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"apertium failed ({proc.returncode}): {proc.stderr.strip()}")
    out = proc.stdout.split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(lines):
        # Apertium's text format keeps line breaks; a mismatch would misalign the corpus.
        raise RuntimeError(f"apertium returned {len(out)} lines for {len(lines)} (first input: {lines[0]!r})")
    return out


def translate(sentences: Sequence[str], jobs: int = 1, progress: bool = False) -> list[str]:
    """English sentences (truecased) -> cleaned Spanish, ``jobs`` apertium processes at a time."""
    chunks = [sentences[i : i + CHUNK] for i in range(0, len(sentences), CHUNK)]
    bar = _progress_bar(len(sentences), "translating", progress)
    results: list[list[str]] = [[] for _ in chunks]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_apertium, chunk): i for i, chunk in enumerate(chunks)}
        for future in concurrent.futures.as_completed(futures):
            i = futures[future]
            results[i] = [clean_translation(t) for t in future.result()]
            bar(len(chunks[i]))
    bar(0, close=True)
    out = [t for chunk in results for t in chunk]
    empty = [s for s, t in zip(sentences, out) if not t]
    if empty:
        raise RuntimeError(f"apertium returned an empty translation for {len(empty)} sentences, e.g. {empty[0]!r}")
    return out


def apertium_version() -> str:
    out = subprocess.run(["apertium", "-V"], capture_output=True, text=True, check=False).stdout.strip()
    return out or "unknown"


def package_version(package: str) -> str:
    """Debian package version (dpkg-query), or "unknown" where dpkg is absent."""
    try:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return proc.stdout.strip() or "unknown"


def _progress_bar(total: int, desc: str, enabled: bool) -> Callable[..., None]:
    if not enabled:
        return lambda n, close=False: None
    from tqdm import tqdm  # noqa: PLC0415

    bar = tqdm(total=total, desc=desc, unit="sent")

    def update(n: int, close: bool = False) -> None:
        bar.update(n)
        if close:
            bar.close()

    return update


# ---------------------------------------------------------------------------
# Statistics and the lexicon baseline.
# ---------------------------------------------------------------------------


def length_stats(lengths: Sequence[int]) -> dict[str, float]:
    ordered = sorted(lengths)
    return {
        "mean": round(statistics.fmean(ordered), 2),
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def lexicon_baseline(train_en: Sequence[str], test_en: Sequence[str], test_es: Sequence[str]) -> dict:
    """SacreBLEU of word-by-word translation with a lexicon from Apertium itself.

    The lexicon maps every English word type of train (space-separated, truecased, final
    period removed) to Apertium's translation of that word alone (``"<word>."``, period
    removed again, first letter lower-cased when the English word is). A test sentence
    is translated word by word (words absent from train are copied), its first letter
    capitalised and a period appended; the hypotheses are scored against the references
    with sacrebleu's defaults (13a tokenization, cased).
    """
    import sacrebleu  # noqa: PLC0415

    def words(sentence: str) -> list[str]:
        return sentence.removesuffix(".").split()

    types = sorted({w for s in train_en for w in words(s)})
    lexicon = {}
    for word, translated in zip(types, translate([w + "." for w in types])):
        translated = translated.removesuffix(".").strip()
        # Alone, a word starts a sentence and Apertium capitalises it; keep the English case.
        lexicon[word] = translated[:1].lower() + translated[1:] if word[:1].islower() else translated
    hyps = []
    for sentence in test_en:
        text = " ".join(t for t in (lexicon.get(w, w) for w in words(sentence)) if t)
        hyps.append(text[:1].upper() + text[1:] + ".")
    bleu = sacrebleu.BLEU()
    score = bleu.corpus_score(hyps, [list(test_es)])
    return {
        "bleu": round(score.score, 2),
        "signature": str(bleu.get_signature()),
        "lexicon_entries": len(lexicon),
        "method": lexicon_baseline.__doc__.split("\n\n")[1].replace("\n    ", " ").strip(),
        "examples": [{"source": s, "hypothesis": h, "reference": r} for s, h, r in zip(test_en[:3], hyps, test_es)],
    }


def overlap(train: Iterable[str], held_out: Sequence[str]) -> float:
    """Fraction of ``held_out`` lines that occur in ``train``."""
    seen = set(train)
    return sum(s in seen for s in held_out) / max(len(held_out), 1)


# ---------------------------------------------------------------------------
# Writing.
# ---------------------------------------------------------------------------


def _atomic_write(path: str, lines: Iterable[str]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{line}\n" for line in lines)
    os.replace(tmp, path)


def write_word_files(out_dir: str, texts: dict[tuple[str, str], list[str]]) -> dict[str, int]:
    """``*.tok.*`` files and ``vocab.tok.*`` (specials, then train tokens by count); returns vocab sizes."""
    sizes = {}
    for lang in LANGS:
        counts: Counter = Counter()
        for split in SPLITS:
            tokenized = [word_tokens(t) for t in texts[split, lang]]
            if split == "train":
                counts.update(tok for toks in tokenized for tok in toks)
            _atomic_write(os.path.join(out_dir, f"{split}.tok.{lang}"), (" ".join(toks) for toks in tokenized))
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        _atomic_write(os.path.join(out_dir, f"vocab.tok.{lang}"), [*SPECIAL_TOKENS, *(f"{t}\t{n}" for t, n in ordered)])
        sizes[lang] = len(SPECIAL_TOKENS) + len(ordered)
    return sizes


def _settings(num_train: int, num_dev: int, num_test: int, seed: int, vocab_size: int) -> dict:
    return {
        "num_train": num_train,
        "num_dev": num_dev,
        "num_test": num_test,
        "seed": seed,
        "sentencepiece_vocab_size": vocab_size,
        "sentencepiece_model_type": "bpe",
        "format_version": FORMAT_VERSION,
    }


def _output_files() -> list[str]:
    files = [f"{s}.{lang}" for s in SPLITS for lang in LANGS] + [f"{s}.tok.{lang}" for s in SPLITS for lang in LANGS]
    return files + [f"vocab.tok.{lang}" for lang in LANGS] + ["spm.model", "spm.vocab"]


def existing_metadata(out_dir: str, settings: dict) -> dict | None:
    """The stored metadata when a complete corpus with ``settings`` is in ``out_dir``."""
    try:
        with open(os.path.join(out_dir, "metadata.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    complete = all(os.path.exists(os.path.join(out_dir, name)) for name in _output_files())
    return meta if complete and meta.get("settings") == settings else None


def _statistics(out_dir: str, texts: dict[tuple[str, str], list[str]]) -> dict:
    import sentencepiece  # noqa: PLC0415

    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(out_dir, "spm.model"))
    lengths: dict[str, dict] = {}
    for split in SPLITS:
        for lang in LANGS:
            lines = texts[split, lang]
            pieces = [len(p) for p in sp.encode(lines)]
            lengths[f"{split}.{lang}"] = {
                "words": length_stats([len(word_tokens(t)) for t in lines]),
                "spm_pieces": length_stats(pieces),
            }
    train_en, train_es = texts["train", "en"], texts["train", "es"]
    train_pairs = set(zip(train_en, train_es))
    stats = {
        "sentencepiece_vocab_size": sp.get_piece_size(),
        "word_types_train": {lang: len({w for t in texts["train", lang] for w in word_tokens(t)}) for lang in LANGS},
        "lengths": lengths,
        "max_pair_pieces_with_specials": max(
            max(len(a), len(b)) + 2 for a, b in zip(sp.encode(train_en), sp.encode(train_es))
        ),
        "distinct_train_targets": len(set(train_es)),
    }
    for split in ("dev", "test"):
        pairs = list(zip(texts[split, "en"], texts[split, "es"]))
        stats[f"{split}_sources_in_train"] = overlap(train_en, texts[split, "en"])
        stats[f"{split}_pairs_in_train"] = sum(p in train_pairs for p in pairs) / len(pairs)
        stats[f"{split}_references_in_train_targets"] = round(overlap(train_es, texts[split, "es"]), 4)
        stats[f"{split}_word_coverage"] = {
            lang: round(synth_text.word_coverage(texts["train", lang], texts[split, lang]), 5) for lang in LANGS
        }
    return stats


def build_corpus(
    out_dir: str,
    num_train: int = 200000,
    num_dev: int = 1000,
    num_test: int = 1000,
    seed: int = 1234,
    vocab_size: int = 4000,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Builds (or reuses) the corpus; returns its metadata with ``"reused"``.

    Raises:
      MissingDependencyError: apertium or apertium-eng-spa is missing.
    """
    import sacrebleu  # noqa: PLC0415
    import sentencepiece  # noqa: PLC0415

    from open_s2s.data.text2text.sentencepiece import train_sentencepiece  # noqa: PLC0415

    out_dir = os.path.abspath(out_dir)
    settings = _settings(num_train, num_dev, num_test, seed, vocab_size)
    meta = None if force else existing_metadata(out_dir, settings)
    if meta is not None:
        return {**meta, "reused": True}
    check_apertium()
    os.makedirs(out_dir, exist_ok=True)
    marker = os.path.join(out_dir, "metadata.json")
    if os.path.exists(marker):  # an interrupted rebuild must not look complete
        os.remove(marker)
    timings = {}
    start = time.time()
    english = synth_text.generate_splits(num_train, num_dev, num_test, seed)
    texts = {(s, "en"): [truecase(t) for t in english[s]] for s in SPLITS}
    timings["generate_sec"] = round(time.time() - start, 1)
    t0 = time.time()
    for split in SPLITS:
        texts[split, "es"] = translate(texts[split, "en"], jobs or os.cpu_count() or 1, progress)
    timings["translate_sec"] = round(time.time() - t0, 1)
    total = sum(len(english[s]) for s in SPLITS)
    timings["translate_sentences_per_sec"] = round(total / max(timings["translate_sec"], 1e-9), 1)
    for (split, lang), lines in texts.items():
        _atomic_write(os.path.join(out_dir, f"{split}.{lang}"), lines)
    t0 = time.time()
    prefix = os.path.join(out_dir, "spm")
    train_sentencepiece(texts["train", "en"] + texts["train", "es"], prefix + ".tmp", vocab_size)
    for ext in (".model", ".vocab"):
        os.replace(f"{prefix}.tmp{ext}", prefix + ext)
    timings["sentencepiece_sec"] = round(time.time() - t0, 1)
    word_vocab_sizes = write_word_files(out_dir, texts)
    t0 = time.time()
    baseline = lexicon_baseline(texts["train", "en"], texts["test", "en"], texts["test", "es"])
    timings["baseline_sec"] = round(time.time() - t0, 1)
    timings["total_sec"] = round(time.time() - start, 1)
    meta = {
        "settings": settings,
        "apertium_version": apertium_version(),
        "apertium_eng_spa_version": package_version("apertium-eng-spa"),
        "apertium_command": f"apertium -u {DIRECTION}",
        "sentencepiece_version": sentencepiece.__version__,
        "sacrebleu_version": sacrebleu.__version__,
        "counts": {s: len(english[s]) for s in SPLITS},
        "word_vocab_sizes_with_specials": word_vocab_sizes,
        **_statistics(out_dir, texts),
        "lexicon_baseline": baseline,
        "timings": timings,
    }
    _atomic_write(marker, [json.dumps(meta, indent=2, ensure_ascii=False)])  # last: marks a complete corpus
    return {**meta, "reused": False}


# ---------------------------------------------------------------------------
# CLI.
# ---------------------------------------------------------------------------


def _summary(meta: dict) -> str:
    lengths = meta["lengths"]
    return "\n".join(
        [
            f"counts={meta['counts']} timings={meta['timings']}",
            f"sentencepiece_vocab={meta['sentencepiece_vocab_size']} "
            f"word_vocabs={meta['word_vocab_sizes_with_specials']} word_types_train={meta['word_types_train']}",
            f"train pieces en={lengths['train.en']['spm_pieces']} es={lengths['train.es']['spm_pieces']}",
            f"test_sources_in_train={meta['test_sources_in_train']} "
            f"test_references_in_train_targets={meta['test_references_in_train_targets']}",
            f"lexicon baseline BLEU={meta['lexicon_baseline']['bleu']} ({meta['lexicon_baseline']['signature']})",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/synth_nmt", help="output directory")
    parser.add_argument("--num_train", type=int, default=200000)
    parser.add_argument("--num_dev", type=int, default=1000)
    parser.add_argument("--num_test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--vocab_size", type=int, default=4000, help="pieces of the joint SentencePiece model")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel apertium processes")
    parser.add_argument("--force", action="store_true", help="rebuild an existing corpus")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        meta = build_corpus(
            args.out,
            args.num_train,
            args.num_dev,
            args.num_test,
            args.seed,
            args.vocab_size,
            args.jobs,
            args.force,
            progress=not args.no_progress,
        )
    except MissingDependencyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    where = os.path.abspath(args.out)
    if meta["reused"]:
        print(f"corpus already exists at {where} with the same settings; use --force to rebuild")
    else:
        print(f"wrote corpus to {where}")
    print(_summary(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
