"""An independent judge of synthesized speech: pocketsphinx's WER with a domain language model.

A text-to-speech model is judged here by how well a recognizer nobody here trained
transcribes its audio: CMU pocketsphinx (its pip wheel ships an English acoustic model and
the CMU pronouncing dictionary, and runs offline). Its general-English language model is
replaced by a *domain* model, a word 3-gram (interpolated modified Kneser-Ney,
``open_s2s.decoding.arpa``) of the training sentences, so that the judge measures whether
the words are audible rather than how plausible they are in general English. The
dictionary keeps the CMU pronunciations (all variants) of the domain words; a word the
CMU dictionary lacks gets flite's pronunciation (its lexicon and letter-to-sound rules,
flite's ``ax`` mapped to the acoustic model's ``AH``), and is reported.

WER is jiwer's corpus WER (edits over reference words) between the normalized texts and
the transcripts, both lower-cased with everything except letters, apostrophes and spaces
removed (the corpus' punctuation is not spoken).

Usage (test recordings; with ``--griffin_lim`` also their Griffin-Lim resynthesis from
ground-truth mel frames, in the same run)::

    python -m open_s2s.decoding.intelligibility --metadata data/synth_tts/metadata_test.csv \\
        --lm_text data/synth_tts/metadata_train.csv [--wavs DIR] [--griffin_lim] [--out report.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence

import numpy as np

from open_s2s.decoding.arpa import build_arpa

SAMPLE_RATE = 16000
# flite's US English phones -> the pocketsphinx en-us acoustic model's (same set but schwa).
_FLITE_PHONES = {"ax": "AH"}
_NOT_WORD = re.compile(r"[^a-z' ]+")


def normalize_words(text: str) -> str:
    """Lower-case words: letters and apostrophes kept, everything else a word break."""
    words = _NOT_WORD.sub(" ", text.lower()).split()
    return " ".join(w.strip("'") for w in words if w.strip("'"))


def read_texts(path: str) -> list[tuple[str, str]]:
    """``(id, text)`` of each line of an LJSpeech metadata file (the normalized column) or of a
    text file (``("", line)``)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) == 3:
                out.append((fields[0], fields[2]))
            elif len(fields) == 1:
                out.append(("", line))
            else:
                raise ValueError(f"{path}:{number}: expected id|raw|normalized or plain text")
    return out


# ---------------------------------------------------------------------------- dictionary and LM


def pocketsphinx_model_dir() -> str:
    """The directory of the English model the pocketsphinx wheel ships."""
    import pocketsphinx  # noqa: PLC0415

    return os.path.join(pocketsphinx.get_model_path(), "en-us")


def load_cmudict(path: str) -> dict[str, list[str]]:
    """``word -> [phones, ...]`` (variants ``word(2)`` folded into their word)."""
    prons: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split("#")[0].split()
            if len(parts) >= 2:
                prons.setdefault(re.sub(r"\(\d+\)$", "", parts[0]), []).append(" ".join(parts[1:]))
    return prons


def flite_pronunciation(word: str, voice: str = "rms") -> str | None:
    """flite's phones for ``word`` (its lexicon, else its letter-to-sound rules) with the
    corpus voice (post-lexical rules differ between voices), or None without flite."""
    if shutil.which("flite") is None:
        return None
    cmd = ["flite", "-voice", voice, "-ps", "-t", word, "-o", "none"]
    proc = subprocess.run(cmd, capture_output=True, check=False, text=True)
    phones = [p for p in proc.stdout.split() if p != "pau"]
    return " ".join(_FLITE_PHONES.get(p, p.upper()) for p in phones) or None


def write_dictionary(words: Iterable[str], path: str, cmudict: dict[str, list[str]]) -> dict[str, str | None]:
    """Writes a pocketsphinx dictionary of ``words``; returns the words missing from the CMU
    dictionary with the fallback pronunciation they got (None: left out)."""
    missing: dict[str, str | None] = {}
    lines = []
    for word in sorted(set(words)):
        prons = cmudict.get(word)
        if prons is None:
            fallback = flite_pronunciation(word)
            missing[word] = fallback
            prons = [fallback] if fallback else []
        for k, pron in enumerate(prons):
            lines.append(f"{word if k == 0 else f'{word}({k + 1})'} {pron}\n")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return missing


class Judge:
    """pocketsphinx with a domain n-gram LM and dictionary, built from the training texts.

    Args:
      lm_sentences: the training texts (any case and punctuation; normalized here).
      order: n-gram order of the domain LM.
      workdir: where the ARPA and dictionary files go (default: a temporary directory).
      lm_text: instead of ``lm_sentences``, a file (or list of files) to read them from:
        LJSpeech metadata (the normalized column) or one sentence per line.
    """

    def __init__(
        self,
        lm_sentences: Iterable[str] | None = None,
        order: int = 3,
        workdir: str | None = None,
        lm_text: str | Sequence[str] | None = None,
    ):
        from pocketsphinx import Config, Decoder  # noqa: PLC0415

        if (lm_sentences is None) == (lm_text is None):
            raise ValueError("Judge: give lm_sentences or lm_text (files), not both")
        if lm_text is not None:
            files = [lm_text] if isinstance(lm_text, str) else list(lm_text)
            lm_sentences = [text for path in files for _, text in read_texts(path)]
        sentences = [s for s in (normalize_words(t) for t in lm_sentences) if s]
        if not sentences:
            raise ValueError("Judge: no LM sentences")
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="judge_")
        self.workdir = workdir or self._tmp.name
        os.makedirs(self.workdir, exist_ok=True)
        model = pocketsphinx_model_dir()
        words = {w for s in sentences for w in s.split()}
        self.dict_path = os.path.join(self.workdir, "domain.dict")
        self.missing_words = write_dictionary(
            words, self.dict_path, load_cmudict(os.path.join(model, "cmudict-en-us.dict"))
        )
        self.lm_path = os.path.join(self.workdir, "domain.arpa")
        with open(self.lm_path, "w", encoding="utf-8") as f:
            f.write(build_arpa(sentences, order))
        config = Config(
            hmm=os.path.join(model, "en-us"),
            lm=self.lm_path,
            dict=self.dict_path,
            samprate=SAMPLE_RATE,
            logfn=os.devnull,
        )
        self.decoder = Decoder(config)
        self.vocabulary_size = len(words)

    def score(self, audios: Sequence[np.ndarray], references: Sequence[str], sample_rate: int = SAMPLE_RATE) -> dict:
        """``{"wer": corpus WER as a fraction (jiwer's), "hypotheses": [...]}`` of ``audios``
        (float in [-1, 1] or int16) against their texts."""
        hypotheses = [self.transcribe(a, sample_rate) for a in audios]
        return {"wer": word_error_rate(references, hypotheses), "hypotheses": hypotheses}

    def transcribe(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> str:
        """Transcript (lower-case words) of float audio in [-1, 1] or int16 samples."""
        audio = np.asarray(audio)
        if audio.dtype != np.int16:
            audio = audio.astype(np.float32)
            if sample_rate != SAMPLE_RATE:
                import soxr  # noqa: PLC0415  (a librosa dependency)

                audio = soxr.resample(audio, sample_rate, SAMPLE_RATE)
            audio = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
        elif sample_rate != SAMPLE_RATE:
            raise ValueError(f"int16 audio must be {SAMPLE_RATE} Hz, got {sample_rate}")
        self.decoder.start_utt()
        self.decoder.process_raw(audio.tobytes(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return normalize_words(hyp.hypstr) if hyp is not None else ""

    def transcribe_file(self, path: str) -> str:
        import soundfile  # noqa: PLC0415

        audio, rate = soundfile.read(path, dtype="int16" if path.endswith(".wav") else "float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1).astype(audio.dtype)
        if audio.dtype == np.int16 and rate != SAMPLE_RATE:
            audio = audio.astype(np.float32) / 32768.0
        return self.transcribe(audio, rate)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER (jiwer) of normalized references and hypotheses."""
    import jiwer  # noqa: PLC0415

    refs = [normalize_words(r) for r in references]
    return float(jiwer.wer(refs, [normalize_words(h) for h in hypotheses]))


# ---------------------------------------------------------------------------- CLI


def _griffin_lim_audio(paths: Sequence[str], args) -> list[np.ndarray]:
    """Ground-truth frames of each WAV (the data layer's transform) -> Griffin-Lim audio."""
    import soundfile  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from open_s2s.data.text2speech.spectrogram import SpectrogramParams, compute_features  # noqa: PLC0415
    from open_s2s.decoding.griffin_lim import GriffinLimParams, features_to_audio  # noqa: PLC0415

    spectrogram = SpectrogramParams(
        sampling_rate=SAMPLE_RATE,
        n_fft=args.n_fft,
        win_length=args.win_length,
        hop_length=args.hop_length,
        num_mel=args.num_mel,
        mag_power=args.mag_power,
        mel_type=args.mel_type,
        data_min_mel=args.data_min,
        trim=args.trim,
    )
    gl = GriffinLimParams(n_iter=args.gl_iters, power=args.gl_power, momentum=args.gl_momentum)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def resynthesize(audio):
        features = compute_features(audio, spectrogram)
        out, length = features_to_audio(features[None], tf.shape(features)[:1], spectrogram, gl)
        return out[0, : length[0]]

    return [resynthesize(soundfile.read(p, dtype="float32")[0]).numpy() for p in paths]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metadata", required=True, help="LJSpeech metadata of the sentences to judge")
    parser.add_argument("--wavs", help="directory of <id>.wav (default: <metadata dir>/wavs)")
    parser.add_argument("--lm_text", nargs="+", required=True, help="metadata/text files for the domain LM")
    parser.add_argument("--order", type=int, default=3, help="n-gram order of the domain LM")
    parser.add_argument("--limit", type=int, default=None, help="judge only the first N sentences")
    parser.add_argument("--griffin_lim", action="store_true", help="also judge Griffin-Lim of ground-truth frames")
    parser.add_argument("--n_fft", type=int, default=1024)
    parser.add_argument("--win_length", type=int, default=800)
    parser.add_argument("--hop_length", type=int, default=200)
    parser.add_argument("--num_mel", type=int, default=80)
    parser.add_argument("--mag_power", type=float, default=1.0)
    parser.add_argument("--mel_type", default="htk", choices=("htk", "slaney"))
    parser.add_argument("--data_min", type=float, default=1e-5)
    parser.add_argument("--trim", action="store_true", help="trim silence before the features (top_db 60)")
    parser.add_argument("--gl_iters", type=int, default=60)
    parser.add_argument("--gl_power", type=float, default=1.0)
    parser.add_argument("--gl_momentum", type=float, default=0.99)
    parser.add_argument("--save_audio", help="write the Griffin-Lim WAVs to this directory")
    parser.add_argument("--out", help="write the report (JSON) here")
    args = parser.parse_args(argv)

    items = read_texts(args.metadata)[: args.limit]
    wav_dir = args.wavs or os.path.join(os.path.dirname(os.path.abspath(args.metadata)), "wavs")
    paths = [os.path.join(wav_dir, f"{name}.wav") for name, _ in items]
    refs = [text for _, text in items]
    start = time.time()
    judge = Judge([t for path in args.lm_text for _, t in read_texts(path)], order=args.order)
    report = {
        "sentences": len(items),
        "lm_words": judge.vocabulary_size,
        "words_missing_from_cmudict": judge.missing_words,
        "setup_sec": round(time.time() - start, 1),
    }
    start, cpu = time.time(), time.process_time()
    hyps = [judge.transcribe_file(p) for p in paths]
    report["recordings"] = {
        "wer": word_error_rate(refs, hyps),
        "judge_sec": round(time.time() - start, 1),
        "judge_cpu_sec": round(time.process_time() - cpu, 1),
    }
    if args.griffin_lim:
        start, cpu = time.time(), time.process_time()
        audio = _griffin_lim_audio(paths, args)
        gl_sec, gl_cpu = time.time() - start, time.process_time() - cpu
        if args.save_audio:
            import soundfile  # noqa: PLC0415

            os.makedirs(args.save_audio, exist_ok=True)
            for (name, _), samples in zip(items, audio):
                soundfile.write(os.path.join(args.save_audio, f"{name}.wav"), samples, SAMPLE_RATE, subtype="PCM_16")
        start, cpu = time.time(), time.process_time()
        gl_hyps = [judge.transcribe(a) for a in audio]
        report["griffin_lim"] = {
            "wer": word_error_rate(refs, gl_hyps),
            "settings": {
                k: getattr(args, k)
                for k in (
                    "n_fft",
                    "win_length",
                    "hop_length",
                    "num_mel",
                    "mag_power",
                    "mel_type",
                    "data_min",
                    "trim",
                    "gl_iters",
                    "gl_power",
                    "gl_momentum",
                )
            },
            "synthesis_sec": round(gl_sec, 1),
            "synthesis_cpu_sec": round(gl_cpu, 1),
            "judge_sec": round(time.time() - start, 1),
            "judge_cpu_sec": round(time.process_time() - cpu, 1),
        }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
