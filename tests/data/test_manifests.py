"""JSON-lines manifests in dataset_files, and the optional feature cache."""

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.audio import DataError
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.data.speech2text.manifests import read_dataset_file

SR = 16000
TEXTS = ["hello world", "yes", "good morning", "it's a test", "no"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """wavs/ with the same rows as a CSV (relative paths) and a manifest (.jsonl)."""
    root = tmp_path_factory.mktemp("manifest")
    (root / "wavs").mkdir()
    rng = np.random.default_rng(0)
    csv_lines, json_lines = [], []
    for i, text in enumerate(TEXTS):
        audio = 0.2 * rng.standard_normal(int(SR * (0.8 + 0.3 * i))).astype(np.float32)
        sf.write(root / "wavs" / f"{i}.wav", audio, SR, subtype="PCM_16")
        csv_lines.append(f"wavs/{i}.wav,0,{text}\n")
        json_lines.append(json.dumps({"audio_filepath": f"wavs/{i}.wav", "duration": len(audio) / SR, "text": text}))
    (root / "data.csv").write_text("wav_filename,wav_filesize,transcript\n" + "".join(csv_lines))
    (root / "data.jsonl").write_text("\n".join(json_lines) + "\n\n")  # a trailing blank line is fine
    (root / "vocab.txt").write_text("\n".join(" abcdefghijklmnopqrstuvwxyz'") + "\n")
    return root


def _params(corpus, files, **kw):
    files = [str(corpus / f) for f in files]
    return {"num_audio_features": 32, "vocab_file": str(corpus / "vocab.txt"), "dataset_files": files, **kw}


def _examples(dl, epochs=1, dataset=None):
    """{(epoch, index): (features, target text)} over ``epochs`` passes of one dataset."""
    ds, out = dataset or dl.build_dataset(), {}
    for epoch in range(epochs):
        for batch in ds:
            for i, index in enumerate(batch[keys.INDEX].numpy()):
                length = batch[keys.SOURCE_LENGTH][i]
                text = dl.ids_to_text(batch[keys.TARGET][i, : batch[keys.TARGET_LENGTH][i]])
                out[epoch, index] = (batch[keys.SOURCE][i, :length].numpy(), text)
    return out


def test_manifest_rows_equal_csv_rows(corpus):
    from_csv = Speech2TextDataLayer(_params(corpus, ["data.csv"]), "eval", batch_size=5)
    from_json = Speech2TextDataLayer(_params(corpus, ["data.jsonl"]), "eval", batch_size=5)
    assert from_json.wav_filenames == from_csv.wav_filenames and from_json.durations == from_csv.durations
    a, b = _examples(from_csv), _examples(from_json)
    assert sorted(a) == sorted(b) == [(0, i) for i in range(len(TEXTS))]
    for key, (features, text) in a.items():
        assert b[key][1] == text == TEXTS[key[1]]
        np.testing.assert_array_equal(b[key][0], features)
    both = Speech2TextDataLayer(_params(corpus, ["data.csv", "data.jsonl"]), "eval", batch_size=4)
    assert both.num_samples == 2 * len(TEXTS)


def test_manifest_without_text_or_duration_is_infer_data(corpus, tmp_path):
    (tmp_path / "infer.json").write_text(json.dumps({"audio_filepath": str(corpus / "wavs" / "1.wav")}) + "\n")
    (entry,) = read_dataset_file(str(tmp_path / "infer.json"))
    assert entry.transcript == "" and entry.duration is None and entry.where.endswith("infer.json:1")
    assert Speech2TextDataLayer(_params(tmp_path, ["infer.json"], vocab_file=str(corpus / "vocab.txt")), "infer", 1)
    with pytest.raises(DataError, match=r"infer\.json:1: empty transcript"):
        Speech2TextDataLayer(_params(tmp_path, ["infer.json"], vocab_file=str(corpus / "vocab.txt")), "eval", 1)


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"audio_filepath": "wavs/0.wav", "text": "yes"', r":3: not valid JSON"),
        ('["wavs/0.wav", "yes"]', r":3: expected a JSON object, got list"),
        ('{"path": "wavs/0.wav", "text": "yes"}', r":3: missing or non-string 'audio_filepath' \(keys: \['path', "),
        ('{"audio_filepath": "wavs/0.wav", "text": 5}', r":3: 'text' must be a string"),
        ('{"audio_filepath": "wavs/0.wav", "duration": "1s", "text": "yes"}', r":3: 'duration' must be a number"),
        ('{"audio_filepath": "wavs/9.wav", "text": "yes"}', r":3: audio file not found: 'wavs/9.wav'"),
        ('{"audio_filepath": "wavs/0.wav", "duration": 3.5, "text": "yes"}', r":3: duration 3.5 s differs from"),
        ('{"audio_filepath": "wavs/0.wav", "text": "Yes!"}', r":3: characters \['!', 'Y'\]"),
    ],
)
def test_bad_manifest_lines_name_file_and_line(corpus, line, message):
    good = json.dumps({"audio_filepath": "wavs/1.wav", "text": "yes"})
    path = corpus / "bad.jsonl"
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(DataError, match=r"bad\.jsonl" + message):
        Speech2TextDataLayer(_params(corpus, ["bad.jsonl"]), "train", batch_size=2)


# ---------------------------------------------------------------------------- feature cache


def test_cached_eval_features_equal_uncached_and_are_read_once(corpus, tmp_path):
    shutil.copytree(corpus / "wavs", tmp_path / "wavs")
    shutil.copy(corpus / "data.csv", tmp_path)
    params = _params(tmp_path, ["data.csv"], vocab_file=str(corpus / "vocab.txt"))
    plain = _examples(Speech2TextDataLayer(params, "eval", batch_size=2))
    dl = Speech2TextDataLayer({**params, "cache_features": True}, "eval", batch_size=2)
    ds = dl.build_dataset()
    first = _examples(dl, dataset=ds)
    for wav in (tmp_path / "wavs").iterdir():  # the second pass must not read the files again
        wav.write_bytes(b"")
    second = _examples(dl, dataset=ds)
    assert sorted(first) == sorted(second) == sorted(plain)
    for key, (features, text) in plain.items():
        np.testing.assert_array_equal(first[key][0], features)
        np.testing.assert_array_equal(second[key][0], features)
        assert first[key][1] == second[key][1] == text


def test_cached_train_features_keep_spec_augment_random(corpus):
    augment = {"num_freq_masks": 2, "max_freq_mask": 8, "num_time_masks": 2, "max_time_mask": 10}
    params = _params(
        corpus, ["data.csv"], cache_features=True, spec_augment=augment, dither=0.0, num_buckets=1, repeat=False
    )
    dl = Speech2TextDataLayer(params, "train", batch_size=1, seed=1)
    examples = _examples(dl, epochs=2)
    unmasked = _examples(Speech2TextDataLayer(_params(corpus, ["data.csv"], dither=0.0), "eval", 1))
    masks = {}
    for (epoch, index), (features, _) in examples.items():
        zero = features == 0
        # Outside the masks the cached features are the clean ones.
        np.testing.assert_allclose(features[~zero], unmasked[0, index][0][~zero], atol=1e-6)
        masks[epoch, index] = zero
    assert any(not np.array_equal(masks[0, i], masks[1, i]) for i in range(len(TEXTS)))


def test_cache_refuses_waveform_augmentation(corpus):
    params = _params(corpus, ["data.csv"], cache_features=True, augmentation={"speed_perturbation_ratio": 0.1})
    with pytest.raises(ConfigError, match="cache_features cannot keep the waveform augmentation random"):
        Speech2TextDataLayer(params, "train", batch_size=2)


# ---------------------------------------------------------------------------- unlabeled inputs (issue 16)


def test_every_input_kind_lists_the_same_audio(corpus, tmp_path):
    """A CSV of wav_filename alone, a directory, a glob and a list of paths name the audio in order;
    the layer reads each exactly like the labeled CSV's rows (infer mode)."""
    wavs = [str(corpus / "wavs" / f"{i}.wav") for i in range(len(TEXTS))]
    (tmp_path / "only.csv").write_text("wav_filename\n" + "".join(f"wavs/{i}.wav\n" for i in range(len(TEXTS))))
    (tmp_path / "list.txt").write_text("# one path per line\n\n" + "".join(w + "\n" for w in wavs))
    shutil.copytree(corpus / "wavs", tmp_path / "folder" / "deeper")
    (tmp_path / "folder" / "README").write_text("not audio")
    kinds = {
        "csv": [str(corpus / "data.csv")],
        "csv_wav_filename_only": [str(tmp_path / "only.csv")],
        "list": [str(tmp_path / "list.txt")],
        "directory": [str(tmp_path / "folder")],
        "glob": [str(corpus / "wavs" / "*.wav")],
    }
    shutil.copytree(corpus / "wavs", tmp_path / "wavs")  # only.csv's relative paths resolve next to it
    labeled = Speech2TextDataLayer(_params(corpus, ["data.csv"]), "infer", batch_size=5)
    reference = _examples(labeled)
    for kind, files in kinds.items():
        dl = Speech2TextDataLayer({**_params(corpus, []), "dataset_files": files}, "infer", batch_size=2)
        assert [os.path.basename(p) for p in dl.wav_filenames] == [f"{i}.wav" for i in range(len(TEXTS))], kind
        if kind == "csv":
            continue
        assert [dl.reference(i) for i in range(dl.num_samples)] == [None] * len(TEXTS)
        for key, (features, _) in _examples(dl).items():
            np.testing.assert_array_equal(features, reference[key][0])


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("h.csv", "filename,transcript\nwavs/0.wav,yes\n", r"h\.csv:1: expected a header starting with wav_filename"),
        ("c.csv", "wav_filename,text\nwavs/0.wav,yes\n", r"c\.csv:1: unknown column 'text'.*transcript"),
        ("l.txt", "wavs/0.wav\nwavs/0.txt\n", r"l\.txt:2: 'wavs/0\.txt' is not an audio file name"),
        ("e.txt", "# nothing\n", r"e\.txt: no audio paths"),
    ],
)
def test_bad_unlabeled_inputs_name_file_and_line(corpus, name, content, message):
    (corpus / name).write_text(content)
    with pytest.raises(DataError, match=message):
        read_dataset_file(str(corpus / name))


def test_an_empty_directory_and_a_glob_without_match_are_data_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no audio files"):
        read_dataset_file(str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"\*\.flac: the pattern matches no file"):
        read_dataset_file(str(tmp_path / "*.flac"))
