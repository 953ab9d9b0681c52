"""Speech synthesis end to end on a tiny flite corpus: eval reports free-running metrics, infer
writes a WAV and an alignment per line in order, the SavedModel's audio equals infer's, and a
sentence synthesizes the same alone as in a batch of mixed lengths."""

import csv
import json

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s import runner

CONFIG = """
from open_s2s.data.text2speech import Text2SpeechDataLayer
from open_s2s.decoders import Tacotron2Decoder
from open_s2s.encoders import Tacotron2Encoder
from open_s2s.losses import Text2SpeechLoss
from open_s2s.models import Text2SpeechTacotron

D = "{data}"
conv = lambda c, a="relu": {{"kernel_size": [3], "num_channels": c, "activation_fn": a}}
base_model = Text2SpeechTacotron
base_params = {{
    "batch_size_per_gpu": 4, "max_steps": 3, "random_seed": 0, "eval_steps": 3, "save_checkpoint_steps": 3,
    "print_samples_steps": None, "optimizer": "Adam", "optimizer_params": {{}},
    "lr_policy_params": {{"learning_rate": 1e-3}},
    "encoder": Tacotron2Encoder,
    "encoder_params": {{"src_emb_size": 16, "conv_layers": [conv(16)], "rnn_cell_dim": 8}},
    "decoder": Tacotron2Decoder,
    "decoder_params": {{"attention_layer_size": 8, "attention_location_filters": 4, "attention_location_kernel": 5,
                        "decoder_cell_units": 16, "prenet_units": 16, "reduction_factor": 2,
                        "postnet_conv_layers": [conv(16, "tanh"), conv(-1, None)], "max_frames_per_char": 2.0}},
    "loss": Text2SpeechLoss, "loss_params": {{"guided_attention_weight": 1.0, "guided_attention_until_step": 2}},
    "griffin_lim": {{"n_iter": 4}},
    "data_layer": Text2SpeechDataLayer,
    "data_layer_params": {{"dataset_location": D, "dataset_files": [D + "/metadata_train.csv"],
                           "vocab_file": D + "/vocab.txt", "sampling_rate": 16000, "num_audio_features": 20,
                           "n_fft": 512, "win_length": 400, "hop_length": 160, "mag_power": 1, "trim": True,
                           "feature_normalize": True, "feature_normalize_mean": -1.0, "feature_normalize_std": 2.0}},
}}
eval_params = {{"data_layer_params": {{"dataset_files": [D + "/metadata_dev.csv"]}}}}
infer_params = {{"data_layer_params": {{"dataset_files": [D + "/metadata_test.csv"]}}}}
"""


@pytest.fixture(scope="module")
def trained(tiny_tts, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tts_run")
    config = tmp / "tts.py"
    config.write_text(CONFIG.format(data=tiny_tts))
    logdir = tmp / "run"
    assert runner.main([f"--config_file={config}", "--mode=train_eval", f"--logdir={logdir}"]) == 0
    return str(config), logdir


def test_eval_scores_free_running_synthesis(trained):
    _, logdir = trained
    last = json.loads((logdir / "eval_history.json").read_text())[-1]
    assert last["step"] == 3 and last["num_sentences"] == 4
    for key in ("alignment_focus", "alignment_diagonality", "length_ratio", "hit_max_length"):
        assert key in last
    assert 0.0 < last["alignment_focus"] <= 1.0


def test_infer_writes_wavs_in_input_order_and_the_saved_model_reproduces_them(trained, tiny_tts, tmp_path):
    config, logdir = trained
    out = tmp_path / "wavs"
    # one batch of the 4 test sentences in input order (no length buckets), as the SavedModel
    # gets them below: the same shapes, so the same float rounding. Across different batchings
    # the spectrogram agrees to float precision but Griffin-Lim amplifies that to tens of
    # 16-bit steps (docs/text2speech.md, batch independence).
    one_batch = "--data_layer_params/num_buckets=1"
    assert (
        runner.main(
            [f"--config_file={config}", "--mode=infer", f"--logdir={logdir}", f"--infer_output_file={out}", one_batch]
        )
        == 0
    )
    with open(out / "index.csv") as f:
        rows = list(csv.DictReader(f))
    expected = [line.split("|")[2].strip() for line in (tiny_tts / "metadata_test.csv").read_text().splitlines()]
    assert [r["text"] for r in rows] == expected
    assert all(
        (out / r["wav_file"]).exists() and (out / r["wav_file"].replace(".wav", "_alignment.png")).exists()
        for r in rows
    )

    export_dir = tmp_path / "export"
    assert (
        runner.main([f"--config_file={config}", "--mode=export", f"--logdir={logdir}", f"--export_dir={export_dir}"])
        == 0
    )
    tts = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    result = tts(text=tf.constant(expected))
    for b, row in enumerate(rows):
        wav, rate = soundfile.read(out / row["wav_file"], dtype="int16")
        n = int(result["audio_length"][b])
        assert rate == int(result["sample_rate"][b]) == 16000 and len(wav) == n
        mine = np.round(np.clip(result["audio"][b, :n].numpy(), -1, 1) * 32767)
        assert np.abs(mine - wav).max() <= 1  # 16-bit quantization of the same waveform


def test_a_sentence_synthesizes_the_same_alone_and_in_a_batch(trained):
    from open_s2s.config.loader import resolve_config
    from open_s2s.data import keys
    from open_s2s.modes import build_model, make_data_layer, restore_for_inference
    from open_s2s.training import checkpoints as ckpt_lib

    config, logdir = trained
    model_cls, params = resolve_config(
        config, "infer", ["--data_layer_params/dataset_files=[" + params_files(config) + "]"]
    )
    dl = make_data_layer(params, "infer")
    model = build_model(model_cls, params, dl.spec)
    restore_for_inference(model, ckpt_lib.find_checkpoint(str(logdir)))
    texts = [dl.encode(t) for t in dl.texts]
    order = np.argsort([-len(t) for t in texts])[:8]  # mixed lengths, longest first
    ids = np.zeros([len(order), max(len(texts[i]) for i in order)], np.int32)
    for row, i in enumerate(order):
        ids[row, : len(texts[i])] = texts[i]
    lengths = np.array([len(texts[i]) for i in order], np.int32)
    together = model.generate({keys.SOURCE: tf.constant(ids), keys.SOURCE_LENGTH: tf.constant(lengths)})
    for row in (0, len(order) - 1):
        n_text = lengths[row]
        alone = model.generate(
            {keys.SOURCE: tf.constant(ids[row : row + 1, :n_text]), keys.SOURCE_LENGTH: lengths[row : row + 1]}
        )
        n = int(alone[keys.AUDIO_LENGTH][0])
        assert int(together[keys.AUDIO_LENGTH][row]) == n
        a, b = alone[keys.AUDIO][0, :n].numpy(), together[keys.AUDIO][row, :n].numpy()
        # float32 sums over differently padded batches may round differently: compare with the signal's scale
        assert np.abs(a - b).max() <= 1e-3 * max(np.abs(a).max(), 1e-3)


def params_files(config):
    """Every line of the tiny corpus (train + dev + test), for a batch of 8 mixed lengths."""
    from open_s2s.config.loader import resolve_config

    _, params = resolve_config(config, "train")
    root = params["data_layer_params"]["dataset_location"]
    return ",".join(f"{root}/metadata_{s}.csv" for s in ("train", "dev", "test"))


def test_infer_input_text_file_and_the_python_api_synthesize_like_infer(trained, tiny_tts, tmp_path, capsys):
    """A plain text file (one sentence per line) through --infer_input; open_s2s.load(...).synthesize
    from the logdir and from the export gives infer's WAVs (within 16-bit quantization)."""
    import open_s2s

    config, logdir = trained
    sentences = ["the cat sat on the mat", "a short one", "and here is a somewhat longer sentence to say"]
    text_file = tmp_path / "sentences.txt"
    text_file.write_text("\n".join(sentences) + "\n")
    out = tmp_path / "wavs"
    args = [f"--config_file={config}", f"--logdir={logdir}", "--mode=infer", f"--infer_input={text_file}",
            f"--infer_output_file={out}", "--data_layer_params/num_buckets=1"]  # fmt: skip
    assert runner.main(args) == 0
    assert "infer data: dataset_files" in capsys.readouterr().out
    with open(out / "index.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["text"] for r in rows] == sentences
    export_dir = tmp_path / "export"
    assert (
        runner.main([f"--config_file={config}", f"--logdir={logdir}", "--mode=export", f"--export_dir={export_dir}"])
        == 0
    )
    for source in (str(logdir), str(export_dir)):
        model = open_s2s.load(source)
        assert type(model).__name__ == "Synthesizer"
        # batch_size 3: infer's one batch (same shapes: within 16-bit quantization); batch_size 2
        # splits it differently: the same lengths, in input order
        waves, rate = model.synthesize(sentences, batch_size=3)
        split, _ = model.synthesize(sentences, batch_size=2)
        assert rate == 16000 and len(waves) == len(split) == len(sentences)
        for wave, other, row in zip(waves, split, rows):
            wav, _ = soundfile.read(out / row["wav_file"], dtype="int16")
            assert len(wav) == len(wave) == len(other)
            assert np.abs(np.round(np.clip(wave, -1, 1) * 32767) - wav).max() <= 1
