"""Label sets of the Google Speech Commands dataset (Warden, 2018, arXiv:1804.03209).

No TensorFlow here: the synthetic-dataset generator imports these lists too.
"""

from __future__ import annotations

SILENCE = "_silence_"
UNKNOWN = "_unknown_"
BACKGROUND_NOISE_DIR = "_background_noise_"
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"

# The ten command words of the v1-12 task, in the order of the TensorFlow tutorial.
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
# The other twenty words of release v0.01 ...
AUXILIARY_V1 = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
)  # fmt: skip
# ... and the five words release v0.02 added.
AUXILIARY_V2 = ("backward", "forward", "follow", "learn", "visual")

WORDS_V1 = COMMANDS + AUXILIARY_V1
WORDS_V2 = WORDS_V1 + AUXILIARY_V2

LABEL_SETS = ("v1-12", "v1-30", "v2-35")


def labels_for(label_set: str) -> tuple[str, ...]:
    """Class names, index-aligned with class ids.

    ``v1-12``: ``_silence_``, ``_unknown_`` and the ten commands (the TensorFlow
    tutorial's order; every other word folder is ``_unknown_``). ``v1-30`` and ``v2-35``:
    every word of the release, one class each, no silence or unknown class.
    """
    if label_set == "v1-12":
        return (SILENCE, UNKNOWN) + COMMANDS
    if label_set == "v1-30":
        return WORDS_V1
    if label_set == "v2-35":
        return WORDS_V2
    raise ValueError(f"unknown label set {label_set!r}; one of {LABEL_SETS}")


def required_words(label_set: str) -> tuple[str, ...]:
    """Word folders the dataset must have for ``label_set``."""
    return COMMANDS if label_set == "v1-12" else labels_for(label_set)
