"""Exported speech model vs in-process inference: transcript parity, WER and real-time factor.

    python run.py --config_file=example_configs/jasper.py --mode=infer --infer_output_file=logs/jasper/test.csv
    python run.py --config_file=example_configs/jasper.py --mode=infer --infer_output_file=logs/jasper/test_lm.csv \
        --decoder_params/use_language_model=True --decoder_params/lm_path=logs/lm/train_3gram.arpa \
        --decoder_params/alpha=1.0 --decoder_params/beta=1.5
    python run.py --config_file=example_configs/jasper.py --mode=export --export_dir=logs/jasper/export \\
        --export_tflite=logs/jasper/model.tflite
    python scripts/bench_export.py data/synth_speech/test.csv --in_process logs/jasper/test.csv \\
        --in_process_lm logs/jasper/test_lm.csv --saved_model logs/jasper/export --tflite logs/jasper/model.tflite \\
        --lm logs/lm/train_3gram.arpa --alpha 1.0 --beta 1.5 --out logs/jasper/bench_export.json

Each utterance is run alone (batch of one) on ONE CPU thread (TF intra/inter-op
threads and the TFLite interpreter); the real-time factor is processing seconds per
audio second, from raw audio to transcript (greedy in the graph, or the model's
log-probs through CTC beam search with the LM). Reports, for each export, the WER and
how many transcripts equal the in-process ones (``--in_process``: an infer CSV).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def run_backend(name, transcribe, audios, beam_search) -> dict:
    """Times ``transcribe`` (audio -> (greedy text, log-probs)) and the LM search over all utterances."""
    greedy, with_lm, t_model, t_lm = [], [], 0.0, 0.0
    transcribe(audios[0])  # warm-up (graph tracing, tensor allocation)
    for audio in audios:
        start = time.perf_counter()
        text, log_probs = transcribe(audio)
        t_model += time.perf_counter() - start
        greedy.append(text)
        if beam_search is not None:
            start = time.perf_counter()
            with_lm.append(beam_search.decode(log_probs))
            t_lm += time.perf_counter() - start
    print(f"{name}: model {t_model:.1f} s, LM search {t_lm:.1f} s", flush=True)
    return {"greedy": greedy, "lm": with_lm, "model_seconds": t_model, "lm_seconds": t_lm}


def summarize(results, refs, in_process, in_process_lm, audio_seconds) -> dict:
    from open_s2s.decoding.lm_tuning import corpus_wer  # noqa: PLC0415

    summary = {"audio_seconds": audio_seconds, "utterances": len(refs)}
    for name, r in results.items():
        entry = {
            "greedy_WER": corpus_wer(refs, r["greedy"]),
            "greedy_RTF": r["model_seconds"] / audio_seconds,
        }
        if in_process is not None:
            entry["greedy_equal_to_in_process"] = sum(a == b for a, b in zip(r["greedy"], in_process))
        if r["lm"]:
            entry["lm_WER"] = corpus_wer(refs, r["lm"])
            entry["lm_RTF"] = (r["model_seconds"] + r["lm_seconds"]) / audio_seconds
            if in_process_lm is not None:
                entry["lm_equal_to_in_process"] = sum(a == b for a, b in zip(r["lm"], in_process_lm))
        summary[name] = entry
    if in_process is not None:
        summary["in_process_greedy_WER"] = corpus_wer(refs, in_process)
    if in_process_lm is not None:
        summary["in_process_lm_WER"] = corpus_wer(refs, in_process_lm)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", help="OpenSeq2Seq CSV of the utterances (with transcripts)")
    parser.add_argument("--in_process", default=None, help="infer CSV of the same utterances, to compare with")
    parser.add_argument("--in_process_lm", default=None, help="infer CSV decoded with the same LM and weights")
    parser.add_argument("--saved_model", default=None)
    parser.add_argument("--tflite", default=None)
    parser.add_argument("--vocab", default=os.path.join(ROOT, "data/synth_speech/vocab.txt"))
    parser.add_argument("--lm", default=None, help="ARPA LM for beam search (omit for greedy only)")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--beam_width", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON file for the figures")
    args = parser.parse_args(argv)

    import soundfile  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from open_s2s.data.vocab import load_vocab  # noqa: PLC0415
    from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder  # noqa: PLC0415

    rows = read_csv(args.csv)
    vocab = load_vocab(args.vocab)
    audios = [soundfile.read(r["wav_filename"], dtype="float32")[0] for r in rows]
    audio_seconds = sum(len(a) for a in audios) / 16000.0
    beam_search = CTCBeamSearchDecoder(vocab, args.lm, args.alpha, args.beta, args.beam_width) if args.lm else None
    results = {}
    if args.saved_model:
        serve = tf.saved_model.load(args.saved_model).signatures["serving_default"]

        def saved_model_transcribe(audio):
            out = serve(audio=tf.constant(audio[None]), audio_length=tf.constant([len(audio)], tf.int32))
            n = int(out["log_probs_length"][0])
            return out["transcript"].numpy()[0].decode(), out["log_probs"].numpy()[0, :n]

        results["saved_model"] = run_backend("saved_model", saved_model_transcribe, audios, beam_search)
    if args.tflite:
        from open_s2s.export.tflite import TFLiteSpeech2Text  # noqa: PLC0415

        tflite = TFLiteSpeech2Text(args.tflite, vocab, num_threads=args.threads)
        results["tflite"] = run_backend("tflite", tflite.transcribe, audios, beam_search)
    in_process, in_process_lm = (
        [r["predicted_transcript"] for r in read_csv(path)] if path else None
        for path in (args.in_process, args.in_process_lm)
    )
    summary = summarize(results, [r["transcript"] for r in rows], in_process, in_process_lm, audio_seconds)
    summary.update(threads=args.threads, lm=args.lm, alpha=args.alpha, beta=args.beta, beam_width=args.beam_width)
    print(json.dumps(summary, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
