"""Data layers and what they share (keys, DataSpec, audio features, vocabularies).

``from open_s2s.data import Speech2TextDataLayer`` (or ``SpeechCommandsDataLayer``) works as
in OpenSeq2Seq's configs. The data layers are imported on first use, so that the
TensorFlow-free modules of this package (``keys``, the corpus synthesizers' helpers) stay
cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAYERS = {
    "Speech2TextDataLayer": "open_s2s.data.speech2text",
    "SpeechCommandsDataLayer": "open_s2s.data.speech_commands",
    "ParallelTextDataLayer": "open_s2s.data.text2text",
    "Text2SpeechDataLayer": "open_s2s.data.text2speech",
}
__all__ = sorted(_LAYERS)


def __getattr__(name: str) -> Any:
    if name in _LAYERS:
        return getattr(importlib.import_module(_LAYERS[name]), name)
    raise AttributeError(f"module 'open_s2s.data' has no attribute {name!r}")
