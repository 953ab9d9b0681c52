"""DeepSpeech2 sized for a CPU, trained on the synthetic espeak-ng corpus (data/synth_speech).

    python -m open_s2s.data.synth_speech --out data/synth_speech   # once (make demo does it)
    python run.py --config_file=example_configs/speech2text/ds2_tiny.py --mode=train_eval
    python run.py --config_file=example_configs/speech2text/ds2_tiny.py --mode=infer \
        --infer_output_file=logs/ds2_tiny/test_predictions.csv

DeepSpeech 2's plan (Amodei et al. 2016) as in OpenSeq2Seq: two 2-D convolutions over
time x frequency (the first strided by 2 in time), bidirectional GRUs, a fully connected
layer and a character CTC decoder; narrower and shallower so that it trains on two CPU
cores. The data layer is example_configs/jasper.py's (64 log-mel features rather than
DS2's 160 spectrogram bins: the same input for every model of the family here).
"""

from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import DeepSpeech2Encoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import Adam, poly_decay

DATA = "data/synth_speech"

base_model = Speech2Text

base_params = {
    "random_seed": 0,
    "num_gpus": 1,
    "use_horovod": False,
    "dtype": "float32",
    "batch_size_per_gpu": 16,
    "max_steps": 2700,
    "save_summaries_steps": 50,
    "print_loss_steps": 100,
    "print_samples_steps": 1000,
    "save_checkpoint_steps": 900,
    "num_checkpoints": 3,
    "eval_steps": 900,
    "logdir": "logs/ds2_tiny",

    "optimizer": Adam,
    "optimizer_params": {},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.001, "power": 2.0, "warmup_steps": 300, "min_lr": 1e-5},
    "max_grad_norm": 10.0,

    "encoder": DeepSpeech2Encoder,
    "encoder_params": {
        "conv_layers": [
            {"kernel_size": [11, 21], "stride": [2, 2], "num_channels": 32, "padding": "SAME"},
            {"kernel_size": [11, 11], "stride": [1, 2], "num_channels": 32, "padding": "SAME"},
        ],
        "num_rnn_layers": 2,
        "rnn_cell_dim": 256,
        "rnn_type": "cudnn_gru",
        "rnn_unidirectional": False,
        "row_conv": False,
        "n_hidden": 512,
        "dropout_keep_prob": 0.9,
        "activation_fn": "clipped_relu",
        "data_format": "channels_last",
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
