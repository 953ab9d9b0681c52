"""The smallest Jasper: for debugging on a laptop and for the precision parity check.

    python run.py --config_file=example_configs/speech2text/jasper_tiny.py --mode=train_eval
    python scripts/precision_parity.py     # float32 vs mixed vs mixed_bf16, same steps

Same structure as example_configs/jasper.py (strided prologue, residual blocks of
conv-BN-ReLU-dropout, dilated epilogue, character CTC) at a quarter of its width and depth
(0.3 M parameters). It exists because float16 convolutions have no fast kernel on a CPU
(oneDNN runs float16 only with AVX512-FP16; otherwise TensorFlow falls back to Eigen, which
is ~50x slower than float32 here), so a float16 run of the full jasper.py does not fit in a
CPU session. On a GPU, use jasper.py or the LibriSpeech recipes with "dtype": "mixed".
"""

from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import NovoGrad, poly_decay

DATA = "data/synth_speech"


def block(kernel, channels, repeat=1, dropout=0.9, residual=True):
    return {
        "type": "conv1d", "repeat": repeat, "kernel_size": [kernel], "stride": [1], "dilation": [1],
        "num_channels": channels, "padding": "SAME", "dropout_keep_prob": dropout, "residual": residual,
    }


base_model = Speech2Text

base_params = {
    "random_seed": 0,
    "num_gpus": 1,
    "use_horovod": False,
    "dtype": "float32",
    "loss_scaling": "Backoff",
    "loss_scaling_params": {"initial_scale": 2.0**15},
    "batch_size_per_gpu": 16,
    "max_steps": 1500,
    "save_summaries_steps": 50,
    "print_loss_steps": 100,
    "print_samples_steps": 500,
    "save_checkpoint_steps": 500,
    "num_checkpoints": 2,
    "eval_steps": 500,
    "logdir": "logs/jasper_tiny",

    "optimizer": NovoGrad,
    "optimizer_params": {"beta1": 0.95, "beta2": 0.5, "weight_decay": 0.001},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.02, "power": 2.0, "warmup_steps": 100, "min_lr": 1e-5},

    "encoder": TDNNEncoder,
    "encoder_params": {
        "convnet_layers": [
            {"type": "conv1d", "repeat": 1, "kernel_size": [11], "stride": [2], "dilation": [1],
             "num_channels": 96, "padding": "SAME", "dropout_keep_prob": 0.9},
            block(11, 96),
            block(13, 96),
            block(17, 128),
            {"type": "conv1d", "repeat": 1, "kernel_size": [21], "stride": [1], "dilation": [2],
             "num_channels": 128, "padding": "SAME", "dropout_keep_prob": 0.9},
            {"type": "conv1d", "repeat": 1, "kernel_size": [1], "stride": [1], "dilation": [1],
             "num_channels": 192, "padding": "SAME", "dropout_keep_prob": 0.9},
        ],
        "dropout_keep_prob": 0.9,
        "activation_fn": "relu",
        "normalization": "batch_norm",
        "use_conv_mask": True,
    },
    "decoder": FullyConnectedCTCDecoder,
    "decoder_params": {},
    "loss": CTCLoss,
    "loss_params": {},

    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {
        "num_audio_features": 64,
        "input_type": "logfbank",
        "vocab_file": f"{DATA}/vocab.txt",
        "norm_per_feature": True,
        "window_size": 0.02,
        "window_stride": 0.01,
        "dither": 1e-5,
        "pad_to": 8,
        "max_duration": 8.0,
        # Decode + features once per utterance, kept in memory (~60 KB each): on a 2-core machine
        # computing them every epoch costs this short step 11 % of its speed (docs/benchmarks.md,
        # "Input pipeline"). SpecAugment stays random per step; dither is drawn once per utterance.
        "cache_features": True,
    },
}

train_params = {
    "data_layer_params": {
        "dataset_files": [f"{DATA}/train.csv"],
        "shuffle": True,
        "spec_augment": {"num_freq_masks": 2, "max_freq_mask": 8, "num_time_masks": 2, "max_time_mask": 15},
    },
}

eval_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/dev.csv"], "shuffle": False},
}

infer_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/test.csv"], "shuffle": False},
}
