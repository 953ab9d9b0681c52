"""A small ResNet keyword spotter for a CPU, on the synthetic commands (data/synth_commands).

    python -m open_s2s.data.synth_commands --out data/synth_commands   # once
    python run.py --config_file=example_configs/speech_commands/resnet_v1_12_tiny.py --mode=train_eval
    python run.py --config_file=example_configs/speech_commands/resnet_v1_12_tiny.py --mode=infer

ResNet-18's layout (four stages of two basic v1 blocks) at a quarter of its width, with a
3x3 stem and no stem pooling, so that the 97 x 40 log-mel image keeps its detail. Task
v1-12: ten commands, _silence_ and _unknown_. Validation and test speak with voices the
training set never has.
"""

from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import ResNetEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands
from open_s2s.optimizers import NovoGrad, poly_decay

DATA = "data/synth_commands"

base_model = SpeechCommands

base_params = {
    "random_seed": 0,
    "num_gpus": 1,
    "use_horovod": False,
    "dtype": "mixed_bf16",
    "batch_size_per_gpu": 32,
    "max_steps": 1500,
    "save_summaries_steps": 50,
    "print_loss_steps": 100,
    "print_samples_steps": None,
    "save_checkpoint_steps": 500,
    "num_checkpoints": 2,
    "eval_steps": 500,
    "logdir": "logs/resnet_v1_12_tiny",

    "optimizer": NovoGrad,
    "optimizer_params": {"beta1": 0.95, "beta2": 0.5, "weight_decay": 0.001},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.02, "power": 2.0, "warmup_steps": 100, "min_lr": 1e-5},

    "encoder": ResNetEncoder,
    "encoder_params": {
        "resnet_size": 18,
        "version": 1,
        "num_filters": 16,
        "conv_kernel_size": 3,
        "conv_stride": 1,
        "first_pool_size": None,
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
    },
}

train_params = {"data_layer_params": {"shuffle": True, "vtlp": [0.85, 1.15]}}
eval_params = {"data_layer_params": {"split": "validation"}}
infer_params = {"data_layer_params": {"split": "test"}}
