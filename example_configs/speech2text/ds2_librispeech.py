"""DeepSpeech2 on LibriSpeech: OpenSeq2Seq's ``ds2_large_8gpus_mp.py`` recipe, ported by
changing imports.

DeepSpeech 2 (Amodei et al. 2016, arXiv:1512.02595): two 2-D convolutions over time x
frequency of a 160-bin spectrogram, five bidirectional GRU layers of 800 units (Keras GRU,
which runs the cuDNN kernel on a GPU), a 1600-unit fully connected layer and a character
CTC decoder (OpenSeq2Seq reports 9.28% greedy WER on test-clean after 50 epochs on 8 GPUs).

Data: CSVs in OpenSeq2Seq's format; the paths follow OpenSeq2Seq's ``data/librispeech``
layout. Porting notes: OpenSeq2Seq trained on 8 GPUs with batch 16 each in float16
(``"mixed"``), as this config does with 8 towers (under Horovod, ``num_gpus`` is ignored).
Its L2 scale 0.0005 (``s·Σw²/2``) becomes 0.00025 (Keras' ``s·Σw²``);
``xavier_initializer(uniform=False)`` is ``"glorot_normal"``. OpenSeq2Seq also perturbed
speed (``time_stretch_ratio`` 0.05, accepted here as ``speed_perturbation_ratio``) and
added noise (-90 to -60 dB), as ``train_params`` does.

    python run.py --config_file=example_configs/speech2text/ds2_librispeech.py --mode=train_eval
"""

from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import DeepSpeech2Encoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import poly_decay

DATA = "data/librispeech"
VOCAB = "data/synth_speech/vocab.txt"  # the same 28 symbols as OpenSeq2Seq's vocab.txt

base_model = Speech2Text

base_params = {
    "random_seed": 0,
    "use_horovod": False,
    "num_gpus": 8,
    "batch_size_per_gpu": 16,
    "num_epochs": 50,
    "save_summaries_steps": 100,
    "print_loss_steps": 100,
    "print_samples_steps": 5000,
    "eval_steps": 5000,
    "save_checkpoint_steps": 10000,
    "logdir": "logs/ds2_librispeech",
    "dtype": "mixed",

    "optimizer": "Momentum",
    "optimizer_params": {"momentum": 0.90},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.001, "power": 0.5},
    "larc_params": {"larc_eta": 0.001},
    "regularizer": "l2",
    "regularizer_params": {"scale": 0.00025},
    "summaries": ["learning_rate", "global_gradient_norm"],

    "encoder": DeepSpeech2Encoder,
    "encoder_params": {
        "conv_layers": [
            {"kernel_size": [11, 41], "stride": [2, 2], "num_channels": 32, "padding": "SAME"},
            {"kernel_size": [11, 21], "stride": [1, 2], "num_channels": 32, "padding": "SAME"},
        ],
        "num_rnn_layers": 5,
        "rnn_cell_dim": 800,
        "use_cudnn_rnn": True,
        "rnn_type": "cudnn_gru",
        "rnn_unidirectional": False,
        "row_conv": False,
        "n_hidden": 1600,
        "dropout_keep_prob": 0.5,
        "activation_fn": "relu",
        "initializer": "glorot_normal",
    },
    "decoder": FullyConnectedCTCDecoder,
    "decoder_params": {"initializer": "glorot_normal"},
    "loss": CTCLoss,
    "loss_params": {},

    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {
        "num_audio_features": 160,
        "input_type": "spectrogram",
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
        "augmentation": {"speed_perturbation_ratio": 0.05, "noise_level_min": -90, "noise_level_max": -60},
    },
}

eval_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/librivox-dev-clean.csv"], "shuffle": False},
}

infer_params = {
    "data_layer_params": {"dataset_files": [f"{DATA}/librivox-test-clean.csv"], "shuffle": False},
}
