"""ResNet-50 keyword spotter on Google Speech Commands v1, 12 labels: OpenSeq2Seq's
``resnet50_commands`` recipe (96.6% test accuracy reported), ported by changing imports.

Data: the dataset as Google distributes it (``speech_commands_v0.01.tar.gz`` unpacked into
``data/speech_commands_v0.01``: one folder per word, ``validation_list.txt``,
``testing_list.txt``, ``_background_noise_/``); no preprocessing script is needed. For
30 labels set ``label_set`` to ``"v1-30"``; for v2 (35 labels) point ``dataset_location``
at ``speech_commands_v0.02`` and use ``"v2-35"``. OpenSeq2Seq trained on 8 GPUs with
Horovod and float16, as this config does with 8 towers (or ``horovodrun -np 8 ...
--use_horovod=True``, where ``num_gpus`` is ignored); on hardware with bfloat16 units and
no float16 tensor cores, ``--dtype=mixed_bf16``.

    python run.py --config_file=example_configs/speech_commands/resnet50_v1_12.py --mode=train_eval
"""

from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import ResNetEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands
from open_s2s.optimizers import poly_decay

dataset_version = "v1-12"
dataset_location = "data/speech_commands_v0.01"

base_model = SpeechCommands

base_params = {
    "random_seed": 0,
    "use_horovod": False,
    "num_gpus": 8,
    "num_epochs": 100,
    "batch_size_per_gpu": 32,
    "dtype": "mixed",

    "save_summaries_steps": 2000,
    "print_loss_steps": 100,
    "print_samples_steps": 2000,
    "eval_steps": 5000,
    "save_checkpoint_steps": 5000,
    "logdir": "logs/resnet50_v1_12",

    "optimizer": "Momentum",
    "optimizer_params": {"momentum": 0.95},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.2, "power": 2},
    "regularizer": "l2",
    "regularizer_params": {"scale": 0.00005},  # OpenSeq2Seq's 0.0001 with its s*sum(w^2)/2
    "summaries": ["learning_rate", "variables", "gradients", "larc_summaries",
                  "variable_norm", "gradient_norm", "global_gradient_norm"],

    "encoder": ResNetEncoder,
    "encoder_params": {"resnet_size": 50, "regularize_bn": False, "initializer": "variance_scaling"},
    "decoder": FullyConnectedSCDecoder,
    "decoder_params": {"output_dim": 12},
    "loss": CrossEntropyLoss,

    "data_layer": SpeechCommandsDataLayer,
    "data_layer_params": {
        "dataset_location": dataset_location,
        "label_set": dataset_version,
        "num_audio_features": 120,
        "cache_data": True,
    },
}

train_params = {"data_layer_params": {"shuffle": True, "repeat": True}}

eval_params = {
    "batch_size_per_gpu": 16,
    "data_layer_params": {"split": "validation", "shuffle": False, "repeat": False},
}

infer_params = {"data_layer_params": {"split": "test", "shuffle": False, "repeat": False}}
