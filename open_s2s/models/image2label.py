"""``Image2Label``: OpenSeq2Seq's model name in its speech-commands configs.

OpenSeq2Seq classified Speech Commands clips with its image classifier, ``Image2Label``,
on spectrogram "images" (``example_configs/image2label/resnet_commands.py``,
``speech2text/jasper_commands.py``). Here that model is ``SpeechCommands``; this name
keeps those configs loading. Image classification itself (``ImagenetDataLayer``,
``CifarDataLayer``) is not part of open_s2s, so any other data layer is refused.
"""

from __future__ import annotations

from typing import Any

from open_s2s.config.params import Param
from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.models.model import EncoderDecoderModel
from open_s2s.models.speech_commands import SpeechCommands


def _speech_commands_only(data_layer: Any) -> str | None:
    if isinstance(data_layer, type) and issubclass(data_layer, SpeechCommandsDataLayer):
        return None
    name = getattr(data_layer, "__name__", repr(data_layer))
    return (
        f"Image2Label with {name}: open_s2s has Image2Label only for speech commands "
        f"(SpeechCommandsDataLayer); image classification is not part of open_s2s"
    )


class Image2Label(SpeechCommands):
    """``SpeechCommands`` under OpenSeq2Seq's name; its data layer must be ``SpeechCommandsDataLayer``."""

    PARAMS = {
        **EncoderDecoderModel.PARAMS,
        "data_layer": Param(
            type, doc="SpeechCommandsDataLayer (the only one Image2Label takes here).", check=_speech_commands_only
        ),
    }
