"""Wav2Letter+ on LibriSpeech: OpenSeq2Seq's ``w2lplus_large_8gpus_mp.py`` recipe, ported by
changing imports.

Wav2Letter+ is OpenSeq2Seq's version of Wav2Letter (Collobert et al. 2016): 1-D convolutions
with batch norm, clipped ReLU (min(relu(x), 20)) and dropout, no residual connections; a
stride-2 prologue, five groups of three layers with kernels 11 to 25 and 256 to 768
channels, a dilated epilogue and a 1x1 layer (OpenSeq2Seq reports 6.67% greedy WER on
test-clean after 200 epochs on 8 GPUs).

Data: CSVs in OpenSeq2Seq's format (``wav_filename,wav_filesize,transcript``); the paths
follow OpenSeq2Seq's ``data/librispeech`` layout. Porting notes: OpenSeq2Seq trained on 8
GPUs with batch 64 each in float16 (``"mixed"``, Backoff loss scaling), as this config does
with 8 towers; under Horovod (``--use_horovod=True`` with ``horovodrun -np 8``) ``num_gpus`` is
ignored. On hardware with bfloat16 units and no float16 tensor cores, ``--dtype=mixed_bf16``. Its L2 scale 0.001 (``s·Σw²/2``) becomes 0.0005 here
(Keras' ``s·Σw²``); ``xavier_initializer(uniform=False)`` is ``"glorot_normal"``.

    python run.py --config_file=example_configs/speech2text/w2lplus_librispeech.py --mode=train_eval
"""

from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import poly_decay

DATA = "data/librispeech"
VOCAB = "data/synth_speech/vocab.txt"  # the same 28 symbols as OpenSeq2Seq's vocab.txt

# (kernel, channels, dropout_keep_prob) of the five groups; each group has 3 layers.
GROUPS = [(11, 256, 0.8), (13, 384, 0.8), (17, 512, 0.8), (21, 640, 0.7), (25, 768, 0.7)]


def conv(kernel, channels, keep, repeat=1, stride=1, dilation=1):
    return {
        "type": "conv1d", "repeat": repeat, "kernel_size": [kernel], "stride": [stride], "dilation": [dilation],
        "num_channels": channels, "padding": "SAME", "dropout_keep_prob": keep,
    }


base_model = Speech2Text

base_params = {
    "random_seed": 0,
    "use_horovod": False,
    "num_gpus": 8,
    "batch_size_per_gpu": 64,
    "iter_size": 1,
    "num_epochs": 200,
    "save_summaries_steps": 100,
    "print_loss_steps": 10,
    "print_samples_steps": 2200,
    "eval_steps": 2200,
    "save_checkpoint_steps": 1100,
    "num_checkpoints": 5,
    "logdir": "logs/w2lplus_librispeech",
    "dtype": "mixed",
    "loss_scaling": "Backoff",

    "optimizer": "Momentum",
    "optimizer_params": {"momentum": 0.90},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.05, "power": 2.0},
    "larc_params": {"larc_eta": 0.001},
    "regularizer": "l2",
    "regularizer_params": {"scale": 0.0005},
    "summaries": ["learning_rate", "global_gradient_norm"],

    "encoder": TDNNEncoder,
    "encoder_params": {
        "convnet_layers": [
            conv(11, 256, 0.8, stride=2),
            *[conv(kernel, channels, keep, repeat=3) for kernel, channels, keep in GROUPS],
            conv(29, 896, 0.6, dilation=2),
            conv(1, 1024, 0.6),
        ],
        "dropout_keep_prob": 0.7,
        "initializer": "glorot_normal",
        "normalization": "batch_norm",
        "activation_fn": "clipped_relu",
        "data_format": "channels_last",
    },
    "decoder": FullyConnectedCTCDecoder,
    "decoder_params": {"initializer": "glorot_normal"},
    "loss": CTCLoss,
    "loss_params": {},

    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {
        "num_audio_features": 64,
        "input_type": "logfbank",
        "vocab_file": VOCAB,
        "sample_freq": 16000,
    },
}

train_params = {
    "data_layer_params": {
        "dataset_files": [
            f"{DATA}/librivox-train-clean-100.csv",
            f"{DATA}/librivox-train-clean-360.csv",
            f"{DATA}/librivox-train-other-500.csv",
        ],
        "max_duration": 16.7,
        "shuffle": True,
    },
}

eval_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/librivox-dev-clean.csv"], "shuffle": False},
}

infer_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/librivox-test-clean.csv"], "shuffle": False},
}
