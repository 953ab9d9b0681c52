"""Wav2Letter+ sized for a CPU, trained on the synthetic espeak-ng corpus (data/synth_speech).

    python -m open_s2s.data.synth_speech --out data/synth_speech   # once (make demo does it)
    python run.py --config_file=example_configs/speech2text/w2lplus_tiny.py --mode=train_eval
    python run.py --config_file=example_configs/speech2text/w2lplus_tiny.py --mode=infer \
        --infer_output_file=logs/w2lplus_tiny/test_predictions.csv

Wav2Letter+ (OpenSeq2Seq's improvement of Collobert et al. 2016's Wav2Letter) is a plain
stack of conv-BN-clipped-ReLU-dropout layers: a strided prologue, groups of layers with
growing kernels and widths, a dilated epilogue and a 1x1 layer, no residual connections.
Here the groups are those of example_configs/jasper.py (same kernels and widths, 2 layers
each instead of OpenSeq2Seq's 3), so that the two models cost about the same per step
and differ only in the residual connections and the activation. Data layer, optimizer
and schedule are jasper.py's.
"""

from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import NovoGrad, poly_decay

DATA = "data/synth_speech"


def conv(kernel, channels, repeat=1, stride=1, dilation=1, keep=0.9):
    return {
        "type": "conv1d", "repeat": repeat, "kernel_size": [kernel], "stride": [stride], "dilation": [dilation],
        "num_channels": channels, "padding": "SAME", "dropout_keep_prob": keep,
    }


base_model = Speech2Text

base_params = {
    "random_seed": 0,
    "num_gpus": 1,
    "use_horovod": False,
    "dtype": "mixed_bf16",
    "batch_size_per_gpu": 16,
    "max_steps": 6000,
    "save_summaries_steps": 50,
    "print_loss_steps": 100,
    "print_samples_steps": 1000,
    "save_checkpoint_steps": 1500,
    "num_checkpoints": 3,
    "eval_steps": 1500,
    "logdir": "logs/w2lplus_tiny",

    "optimizer": NovoGrad,
    "optimizer_params": {"beta1": 0.95, "beta2": 0.5, "weight_decay": 0.001},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.02, "power": 2.0, "warmup_steps": 300, "min_lr": 1e-5},

    "encoder": TDNNEncoder,
    "encoder_params": {
        "convnet_layers": [
            conv(11, 128, stride=2),
            conv(11, 128, repeat=2),
            conv(13, 160, repeat=2),
            conv(17, 192, repeat=2),
            conv(21, 224, repeat=2),
            conv(29, 256, dilation=2, keep=0.8),
            conv(1, 256, keep=0.8),
        ],
        "dropout_keep_prob": 0.9,
        "activation_fn": "clipped_relu",
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
    },
}

train_params = {
    "data_layer_params": {
        "dataset_files": [f"{DATA}/train.csv"],
        "shuffle": True,
        "vtlp": [0.9, 1.1],
        "spec_augment": {"num_freq_masks": 2, "max_freq_mask": 8, "num_time_masks": 2, "max_time_mask": 15},
    },
}

eval_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/dev.csv"], "shuffle": False},
}

infer_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/test.csv"], "shuffle": False},
}
