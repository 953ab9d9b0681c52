"""open_s2s: sequence-to-sequence speech and language models on TensorFlow 2 / Keras 3."""

from setuptools import find_packages, setup

setup(
    name="open_s2s",
    version="0.1.0",
    description="Config-driven speech recognition, synthesis, keyword spotting and translation (TF2/Keras 3).",
    packages=find_packages(include=["open_s2s", "open_s2s.*"]),
    python_requires=">=3.11,<3.12",
    # Both supported stacks (TensorFlow 2.16 and 2.21); the exact pins of each are in
    # requirements/<stack>.txt and constraints/<stack>.txt (make setup STACK=...).
    install_requires=[
        "tensorflow>=2.16.2,<2.22",
        "tensorboard>=2.16.2,<2.22",
        "keras==3.15.1",
        "numpy==1.26.4",
        "librosa==0.11.0",
        "soundfile==0.14.0",
        "jiwer==4.0.0",
        "sacrebleu==2.6.0",
        "tqdm==4.70.1",
    ],
    # tensorflow-io decodes FLAC/OGG/MP3 in-graph where its ops load (TensorFlow < 2.18);
    # soundfile does otherwise.
    extras_require={"tfio": ["tensorflow-io==0.37.1"]},
)
