"""Every example config builds and trains 2 steps (data pointed at the tiny corpus)."""

import glob
import os

import pytest
import tensorflow as tf

from open_s2s import runner
from open_s2s.config.loader import resolve_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(REPO, "example_configs", "**", "*.py"), recursive=True))


def test_there_are_configs():
    assert any(c.endswith("jasper.py") for c in CONFIGS)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: os.path.relpath(c, REPO))
def test_config_trains_two_steps(config, request, tmp_path):
    _, params = resolve_config(config, "train")
    overrides = data_overrides(params, request)
    overrides += [
        "--max_steps=2",
        "--batch_size_per_gpu=2",
        "--eval_steps=None",
        "--num_gpus=1",  # the full recipes ask for 8 towers; towers have their own tests
        "--use_horovod=False",  # and Horovod ranks (the WMT recipes); both have their own tests
        "--print_samples_steps=1",  # the sample logger traces the model once more, with its own signature
    ]
    if params["dtype"] == "mixed":
        # the full recipes' float16 is for GPUs: CPU float16 conv2d/RNN kernels are too slow for CI
        # (DeepSpeech2's first step took minutes and >12 GB); float16 has its own tests
        overrides.append("--dtype=float32")
    if params["num_epochs"] is not None:
        overrides.append("--num_epochs=None")
    logdir = str(tmp_path / "run")
    code = runner.main([f"--config_file={config}", "--mode=train", f"--logdir={logdir}", *overrides])
    assert code == 0
    assert tf.train.latest_checkpoint(logdir).endswith("model-2")


def data_overrides(params, request) -> list[str]:
    """Points the config's data layer at the matching tiny fixture dataset."""
    name = params["data_layer"].__name__
    if name == "SpeechCommandsDataLayer":
        return [f"--data_layer_params/dataset_location={request.getfixturevalue('tiny_commands')}"]
    if name == "ParallelTextDataLayer":
        toy = request.getfixturevalue("toy_parallel")
        return [
            f"--data_layer_params/source_file={toy}/train.src",
            f"--data_layer_params/target_file={toy}/train.tgt",
            f"--data_layer_params/sentencepiece_model={toy}/spm.model",
            "--data_layer_params/src_vocab_file=None",
            "--data_layer_params/tgt_vocab_file=None",
            "--data_layer_params/batch_in_tokens=False",
        ]
    if name == "Text2SpeechDataLayer":
        tts = request.getfixturevalue("tiny_tts")
        return [
            f"--data_layer_params/dataset_location={tts}",
            f"--data_layer_params/dataset_files=[{tts}/metadata_train.csv]",
            f"--data_layer_params/vocab_file={tts}/vocab.txt",
            "--data_layer_params/sampling_rate=16000",  # flite's rms voice; the LJSpeech recipes say 22050
            "--data_layer_params/use_cache=False",
            "--judge=None",
        ]
    corpus = request.getfixturevalue("tiny_corpus")
    return [
        f"--data_layer_params/dataset_files=[{corpus}/train.csv]",
        f"--data_layer_params/vocab_file={corpus}/vocab.txt",
        "--data_layer_params/max_duration=None",
    ]
