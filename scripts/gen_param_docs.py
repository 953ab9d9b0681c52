"""Writes docs/params.md: one table per component, generated from the PARAMS specs.

python scripts/gen_param_docs.py            # rewrite docs/params.md
python scripts/gen_param_docs.py --check    # exit 1 if docs/params.md is stale (used by tests)
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from open_s2s.config.params import params_table  # noqa: E402
from open_s2s.config.schema import BASE_PARAMS  # noqa: E402


def sections():
    from open_s2s.data.speech2text import Speech2TextDataLayer
    from open_s2s.data.speech_commands import SpeechCommandsDataLayer
    from open_s2s.data.text2speech import Text2SpeechDataLayer
    from open_s2s.data.text2text import ParallelTextDataLayer
    from open_s2s.decoders import (
        FullyConnectedCTCDecoder,
        FullyConnectedSCDecoder,
        Tacotron2Decoder,
        TransformerDecoder,
    )
    from open_s2s.encoders import ResNetEncoder, Tacotron2Encoder, TransformerEncoder
    from open_s2s.encoders.ds2_encoder import CONV_PARAMS, DeepSpeech2Encoder
    from open_s2s.encoders.tdnn_encoder import LAYER_PARAMS, TDNNEncoder
    from open_s2s.losses import CrossEntropyLoss, CTCLoss, PaddedCrossEntropyLossWithSmoothing, Text2SpeechLoss
    from open_s2s.models import EncoderDecoderModel
    from open_s2s.models.text2speech import GRIFFIN_LIM_PARAMS, JUDGE_PARAMS, Text2SpeechTacotron
    from open_s2s.optimizers import LARC_PARAMS
    from open_s2s.optimizers.loss_scaling import BACKOFF_PARAMS, LOGMAX_PARAMS

    return [
        ("Top level: runtime, training, logging (`base_params`)", BASE_PARAMS),
        ("Top level: model composition (`base_params`)", EncoderDecoderModel.PARAMS),
        ("`Speech2TextDataLayer` (`data_layer_params`)", Speech2TextDataLayer.all_params()),
        ("`TDNNEncoder` (`encoder_params`)", TDNNEncoder.all_params()),
        ("`TDNNEncoder` `convnet_layers` entries", LAYER_PARAMS),
        ("`DeepSpeech2Encoder` (`encoder_params`)", DeepSpeech2Encoder.all_params()),
        ("`DeepSpeech2Encoder` `conv_layers` entries", CONV_PARAMS),
        ("`FullyConnectedCTCDecoder` (`decoder_params`)", FullyConnectedCTCDecoder.all_params()),
        ("`CTCLoss` (`loss_params`)", CTCLoss.PARAMS),
        ("LARC (`larc_params`)", LARC_PARAMS),
        ('`loss_scaling: "Backoff"` (`loss_scaling_params`; formulas in docs/mixed_precision.md)', BACKOFF_PARAMS),
        ('`loss_scaling: "LogMax"` (`loss_scaling_params`; formulas in docs/mixed_precision.md)', LOGMAX_PARAMS),
        # speech commands (issue 6)
        ("`SpeechCommandsDataLayer` (`data_layer_params`)", SpeechCommandsDataLayer.all_params()),
        ("`ResNetEncoder` (`encoder_params`)", ResNetEncoder.all_params()),
        ("`FullyConnectedSCDecoder` (`decoder_params`)", FullyConnectedSCDecoder.all_params()),
        ("`CrossEntropyLoss` (`loss_params`)", CrossEntropyLoss.PARAMS),
        # text to text (issue 13)
        ("`ParallelTextDataLayer` (`data_layer_params`)", ParallelTextDataLayer.all_params()),
        ("`TransformerEncoder` (`encoder_params`)", TransformerEncoder.all_params()),
        ("`TransformerDecoder` (`decoder_params`)", TransformerDecoder.all_params()),
        ("`PaddedCrossEntropyLossWithSmoothing` (`loss_params`)", PaddedCrossEntropyLossWithSmoothing.PARAMS),
        # text to speech (issue 14)
        ("`Text2SpeechDataLayer` (`data_layer_params`)", Text2SpeechDataLayer.all_params()),
        (
            "`Text2SpeechTacotron` model keys (`base_params`)",
            {k: v for k, v in Text2SpeechTacotron.PARAMS.items() if k not in EncoderDecoderModel.PARAMS},
        ),
        ("`Text2SpeechTacotron` `griffin_lim`", GRIFFIN_LIM_PARAMS),
        ("`Text2SpeechTacotron` `judge`", JUDGE_PARAMS),
        ("`Tacotron2Encoder` (`encoder_params`)", Tacotron2Encoder.all_params()),
        ("`Tacotron2Decoder` (`decoder_params`)", Tacotron2Decoder.all_params()),
        ("`Text2SpeechLoss` (`loss_params`)", Text2SpeechLoss.PARAMS),
    ]


def render() -> str:
    parts = [
        "# Config keys\n",
        "Generated from the components' `PARAMS` specs by `scripts/gen_param_docs.py`; do not edit.",
        "Unknown keys, missing required keys, wrong types and values outside the choices are errors.\n",
    ]
    for title, spec in sections():
        parts += [f"## {title}\n", params_table(spec), ""]
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    path = os.path.join(ROOT, "docs", "params.md")
    text = render()
    if args.check:
        with open(path) as f:
            return 0 if f.read() == text else 1
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
