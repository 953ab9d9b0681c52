"""Jasper 10x3 keyword spotter on Google Speech Commands v1, 12 labels: OpenSeq2Seq's
``jasper_commands`` recipe (96.2% test accuracy reported), ported by changing imports.

The OpenSeq2Seq recipe wrote its 1-D convolutions over time as ``conv2d`` with
``[k, 1]`` kernels; here they are ``conv1d`` over time with the mel bins as channels,
the same layer plan (a strided prologue, ten residual blocks of three sub-blocks with
kernels growing from 11 to 25, a dilated epilogue) and a decoder that averages over time.
Data: the dataset as Google distributes it, unpacked into ``data/speech_commands_v0.01``
(see ``resnet50_v1_12.py``). OpenSeq2Seq trained on 8 GPUs with Horovod, float16 and
LARC, as this config does with 8 towers (or ``horovodrun -np 8 ... --use_horovod=True``,
where ``num_gpus`` is ignored).

    python run.py --config_file=example_configs/speech_commands/jasper_v1_12.py --mode=train_eval
"""

from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands
from open_s2s.optimizers import poly_decay

dataset_version = "v1-12"
dataset_location = "data/speech_commands_v0.01"

# (kernel, channels, dropout_keep_prob) of the five groups; each group has 2 residual blocks.
GROUPS = [(11, 256, 0.8), (13, 384, 0.8), (17, 512, 0.8), (21, 640, 0.7), (25, 768, 0.7)]


def conv(kernel, channels, keep, stride=1, dilation=1, repeat=1, residual=False):
    return {
        "type": "conv1d", "repeat": repeat, "kernel_size": [kernel], "stride": [stride],
        "dilation": [dilation], "num_channels": channels, "padding": "SAME",
        "dropout_keep_prob": keep, "residual": residual,
    }


base_model = SpeechCommands

base_params = {
    "random_seed": 0,
    "use_horovod": False,
    "num_epochs": 200,
    "num_gpus": 8,
    "batch_size_per_gpu": 64,
    "iter_size": 1,

    "save_summaries_steps": 10000,
    "print_loss_steps": 100,
    "print_samples_steps": 1000,
    "eval_steps": 1000,
    "save_checkpoint_steps": 10000,
    "logdir": "logs/jasper_v1_12",

    "optimizer": "Momentum",
    "optimizer_params": {"momentum": 0.95},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.05, "min_lr": 1e-5, "power": 2.0},
    "larc_params": {"larc_eta": 0.001},
    "regularizer": "l2",
    "regularizer_params": {"scale": 0.0005},  # OpenSeq2Seq's 0.001 with its s*sum(w^2)/2
    "dtype": "mixed",
    "summaries": ["learning_rate", "variables", "gradients", "larc_summaries",
                  "variable_norm", "gradient_norm", "global_gradient_norm"],

    "encoder": TDNNEncoder,
    "encoder_params": {
        "convnet_layers": [conv(11, 256, 0.8, stride=2)]
        + [conv(k, c, keep, repeat=3, residual=True) for k, c, keep in GROUPS for _ in range(2)]
        + [conv(29, 896, 0.6, dilation=2), conv(1, 1024, 0.6)],
        "dropout_keep_prob": 0.7,
        "initializer": "glorot_normal",
        "normalization": "batch_norm",
        "activation_fn": "relu",
        "data_format": "channels_last",
    },
    "decoder": FullyConnectedSCDecoder,
    "decoder_params": {"output_dim": 12},
    "loss": CrossEntropyLoss,

    "data_layer": SpeechCommandsDataLayer,
    "data_layer_params": {
        "dataset_location": dataset_location,
        "label_set": dataset_version,
        "num_audio_features": 128,
        "cache_data": True,
    },
}

train_params = {"data_layer_params": {"shuffle": True, "repeat": True}}

eval_params = {
    "batch_size_per_gpu": 4,
    "data_layer_params": {"split": "validation", "shuffle": False, "repeat": False},
}

infer_params = {"data_layer_params": {"split": "test", "shuffle": False, "repeat": False}}
