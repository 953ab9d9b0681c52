"""A small Jasper keyword spotter for a CPU, on the synthetic commands (data/synth_commands).

    python -m open_s2s.data.synth_commands --out data/synth_commands   # once
    python run.py --config_file=example_configs/speech_commands/jasper_v1_12_tiny.py --mode=train_eval
    python run.py --config_file=example_configs/speech_commands/jasper_v1_12_tiny.py --mode=infer

Jasper's layer plan for commands (OpenSeq2Seq's jasper_commands): 1-D convolutions over
time with the mel bins as channels, a strided prologue, residual blocks of
conv-BN-ReLU-dropout sub-blocks with growing kernels, an epilogue, and a classifier that
averages over time. Task v1-12: ten commands, _silence_ and _unknown_.
"""

from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands
from open_s2s.optimizers import NovoGrad, poly_decay

DATA = "data/synth_commands"


def block(kernel, channels, repeat=2, keep=0.9, residual=True):
    return {
        "type": "conv1d", "repeat": repeat, "kernel_size": [kernel], "stride": [1], "dilation": [1],
        "num_channels": channels, "padding": "SAME", "dropout_keep_prob": keep, "residual": residual,
    }


base_model = SpeechCommands

base_params = {
    "random_seed": 0,
    "num_gpus": 1,
    "use_horovod": False,
    "dtype": "mixed_bf16",
    "batch_size_per_gpu": 32,
    "max_steps": 8000,
    "save_summaries_steps": 50,
    "print_loss_steps": 100,
    "print_samples_steps": None,
    "save_checkpoint_steps": 2000,
    "num_checkpoints": 2,
    "eval_steps": 2000,
    "logdir": "logs/jasper_v1_12_tiny",

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
            block(13, 128),
            block(17, 160),
            {"type": "conv1d", "repeat": 1, "kernel_size": [21], "stride": [1], "dilation": [2],
             "num_channels": 192, "padding": "SAME", "dropout_keep_prob": 0.8},
            {"type": "conv1d", "repeat": 1, "kernel_size": [1], "stride": [1], "dilation": [1],
             "num_channels": 256, "padding": "SAME", "dropout_keep_prob": 0.8},
        ],
        "dropout_keep_prob": 0.9,
        "activation_fn": "relu",
        "normalization": "batch_norm",
    },
    "decoder": FullyConnectedSCDecoder,
    "decoder_params": {"pooling": "mean"},
    "loss": CrossEntropyLoss,
    "loss_params": {"label_smoothing": 0.1},

    "data_layer": SpeechCommandsDataLayer,
    "data_layer_params": {
        "dataset_location": DATA,
        "label_set": "v1-12",
        "num_audio_features": 40,
        "input_type": "logfbank",
        "window_size": 0.025,
        "window_stride": 0.01,
        # each mel bin's per-clip mean removed: the voice's and channel's average spectrum
        "subtract_mean_per_feature": True,
    },
}

train_params = {
    "data_layer_params": {
        "shuffle": True,
        "vtlp": [0.8, 1.25],
        "spec_augment": {"num_freq_masks": 2, "max_freq_mask": 6, "num_time_masks": 2, "max_time_mask": 10},
    }
}
eval_params = {"data_layer_params": {"split": "validation"}}
infer_params = {"data_layer_params": {"split": "test"}}
