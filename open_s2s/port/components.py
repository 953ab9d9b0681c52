"""Keys of OpenSeq2Seq components that open_s2s names differently or does without."""

from __future__ import annotations

import ast
import importlib

from open_s2s.port import tables
from open_s2s.port.syntax import fmt, key_of, literal


class ComponentKeys:
    """Mixin of ``Porter``: the rewrites that depend on the class a params dict belongs to."""

    def _owned_dicts(self, node: ast.AST, path: tuple[str, ...] = ()):
        """``(dict, its keys, owner class or None)`` for every dict literal under ``node``."""
        if isinstance(node, ast.Dict):
            keys = [key_of(k) for k in node.keys]
            yield node, keys, self._owner(node, path)
            for key, value in zip(keys, node.values):
                yield from self._owned_dicts(value, (*path, key or "?"))
            return
        for child in ast.iter_child_nodes(node):
            yield from self._owned_dicts(child, path)

    def _check_options(self) -> None:
        """Refuses an option of a component that open_s2s lacks (``tables.UNSUPPORTED_OPTIONS``)."""
        for d, keys, owner in self._owned_dicts(self.tree):
            for i, key in enumerate(keys):
                for (owners, name), reason in tables.UNSUPPORTED_OPTIONS.items():
                    if key != name or owner not in owners:
                        continue
                    ok, value = self.value_of(d.values[i])
                    why = reason(value) if ok else None
                    if why:
                        self.refuse(f"line {d.values[i].lineno}: {owner} {key} {why}")

    def _component_keys(self, d: ast.Dict, keys: list[str | None], owner: str | None) -> set[int]:
        """Keys of ``owner``'s params that open_s2s names differently or does without."""
        handled = set()
        for i, key in enumerate(keys):
            why = tables.DROPPED_KEYS.get(owner or "", {}).get(key)
            if why:
                self.ed.remove_entry(d, i, f"dropped by open_s2s.port: {why}")
                self.note(d.keys[i].lineno, f'dropped "{key}" ({why})')
                handled.add(i)
        added: list[tuple[str, str | None]] = []  # one edit per dict: additions may not share a position
        if id(d) in self.primary and owner in tables.OS2S_DEFAULTS:
            added += self._os2s_defaults(d, keys, owner)
        if id(d) in self.primary and owner == "Tacotron2Decoder" and "output_type" not in keys:
            added += self._tacotron_output_type(d)
        self.ed.add_entries(d, added)
        if owner in tables.TRANSFORMER and "norm_params" in keys:
            self._norm_epsilon(d.values[keys.index("norm_params")])
        if owner == "Speech2TextDataLayer" and "augmentation" in keys:
            handled |= self._spec_augment(d, keys.index("augmentation"))
        if owner == "TDNNEncoder" and "convnet_layers" in keys:
            layers = d.values[keys.index("convnet_layers")]
            ported = [self._conv2d_to_conv1d(x) for x in getattr(layers, "elts", []) if isinstance(x, ast.Dict)]
            if any(ported):
                self.ed.comment(d.keys[keys.index("convnet_layers")].lineno, tables.CONV2D_COMMENT)
        if owner == "DeepSpeech2Encoder" and "data_format" in keys:
            i = keys.index("data_format")
            ok, value = literal(d.values[i])
            if ok and value in tables.DS2_LAYOUTS:
                why = f"{value} is a layout, computed channels-last here"
                self.ed.remove_entry(d, i, f"dropped by open_s2s.port: {why}")
                self.note(d.keys[i].lineno, f'dropped "data_format": {value!r} (a layout of the same computation)')
                handled.add(i)
        return handled

    def _spec_augment(self, d: ast.Dict, i: int) -> set[int]:
        """OpenSeq2Seq's SpecAugment keys inside ``augmentation`` -> our ``spec_augment`` dict."""
        ok, aug = literal(d.values[i])
        if not ok or not isinstance(aug, dict) or not set(aug) & set(tables.SPEC_AUGMENT_KEYS):
            return set()
        masks = {new: aug.pop(old, default) for old, (new, default) in tables.SPEC_AUGMENT_KEYS.items()}
        old_text = f"{self.ed.text(d.keys[i])}: {self.ed.text(d.values[i])}"
        entries = ([f"{self.ed.text(d.keys[i])}: {fmt(aug)}"] if aug else []) + [f'"spec_augment": {fmt(masks)}']
        indent = self.ed.indent_of(d.keys[i].lineno)
        start = self.ed.offset(d.keys[i].lineno, d.keys[i].col_offset)
        _, end = self.ed.span(d.values[i])
        self.ed.replace_span(start, end, f",\n{indent}".join(entries))
        self.ed.comment(d.keys[i].lineno, "OpenSeq2Seq's augmentation n_/width_ freq/time masks, as spec_augment")
        self.note(d.keys[i].lineno, f"{' '.join(old_text.split())}  ->  {', '.join(entries)}")
        return {i}

    def _conv2d_to_conv1d(self, layer: ast.Dict) -> bool:
        """TDNN ``conv2d`` with ``[k, 1]`` kernels -> ``conv1d`` ``[k]``.

        OpenSeq2Seq's speech-commands data layer fed Jasper ``[batch, time, 1, features]``
        (``model_format: "jasper"``), so its ``[k, 1]`` conv2d was a conv1d over time with
        the features as channels, which is what TDNNEncoder computes.
        """
        keys = [key_of(k) for k in layer.keys]
        if "type" not in keys or literal(layer.values[keys.index("type")]) != (True, "conv2d"):
            return False
        type_node = layer.values[keys.index("type")]
        self.ed.replace(type_node, '"conv1d"')
        for name in ("kernel_size", "stride", "dilation"):
            if name not in keys:
                continue
            node = layer.values[keys.index(name)]
            ok, value = literal(node)
            if not ok or not isinstance(value, (list, tuple)) or len(value) != 2 or value[1] != 1:
                self.refuse(f"line {node.lineno}: conv2d {name} {self.ed.text(node)} is not [n, 1] (over time only)")
            self.ed.replace(node, fmt([value[0]]))
        self.note(type_node.lineno, 'TDNN "conv2d" [k, 1] over [time, 1, features]  ->  "conv1d" [k] over time')
        return True

    def _os2s_defaults(self, d: ast.Dict, keys: list[str | None], owner: str) -> list[tuple[str, str | None]]:
        """OpenSeq2Seq's defaults where open_s2s's differ and the config leaves the key out, as entries."""
        ours = _class_params(owner)
        added = []
        for key, value in tables.OS2S_DEFAULTS[owner].items():
            if key in keys:
                continue
            why = f"OpenSeq2Seq's default; open_s2s's is {fmt(ours[key].default)}" if key in ours else None
            added.append((f"{fmt(key)}: {fmt(value)}", why))
            self.note(d.lineno, f"{owner}: added {key} {fmt(value)} ({why})")
        return added

    def _tacotron_output_type(self, d: ast.Dict) -> list[tuple[str, str | None]]:
        """Tacotron2Decoder ``output_type`` / ``num_magnitude_features`` from the data layer's params.

        OpenSeq2Seq's decoder read ``output_type`` and ``num_audio_features`` from its data
        layer; open_s2s's takes them as params (with "mel" it would predict mel and magnitude
        bins as one frame, and no magnitude head).
        """
        layer = self._data_layer_entries()
        if "output_type" not in layer:
            return []  # OpenSeq2Seq's default "mel", the decoder's too
        kind = layer["output_type"]
        ok, value = literal(kind)
        entries = [f'"output_type": {self.ed.text(kind)}']
        features = layer.get("num_audio_features")
        if not ok or value == "both":
            if features is None:
                self.refuse(f"line {kind.lineno}: output_type {self.ed.text(kind)} needs num_audio_features")
            ok_f, nums = literal(features)
            if ok and ok_f and isinstance(nums, dict):
                entries.append(f'"num_magnitude_features": {fmt(nums["magnitude"])}')
            else:
                cond = "" if ok else f' if {self.ed.text(kind)} == "both" else 0'
                entries.append(f'"num_magnitude_features": {self.ed.text(features)}["magnitude"]{cond}')
        why = "OpenSeq2Seq's decoder read these from the data layer"
        self.note(d.lineno, f"Tacotron2Decoder: added {', '.join(entries)} ({why})")
        return [(entry, why) for entry in entries]

    def _data_layer_entries(self) -> dict[str, ast.AST]:
        """Entries of the Text2SpeechDataLayer params (base_params' first, then any mode section's)."""
        found: dict[str, ast.AST] = {}
        dicts = [(d, keys) for d, keys, owner in self._owned_dicts(self.tree) if owner == "Text2SpeechDataLayer"]
        dicts.sort(key=lambda x: id(x[0]) not in self.primary)
        for d, keys in dicts:
            for key, value in zip(keys, d.values):
                found.setdefault(key, value)
        return found

    def _norm_epsilon(self, node: ast.AST) -> None:
        """Notes a layer-norm ``epsilon`` open_s2s does not take (its Transformer uses 1e-6)."""
        if isinstance(node, ast.Name) and node.id in self.module_values:
            node = self.module_values[node.id]
        if not isinstance(node, ast.Dict):
            return
        keys = [key_of(k) for k in node.keys]
        if "epsilon" not in keys or id(node) in self._noted_norms:
            return
        self._noted_norms.add(id(node))
        value = node.values[keys.index("epsilon")]
        ok, eps = literal(value)
        if ok and eps == tables.LAYER_NORM_EPSILON:
            return
        eps_here = f"{tables.LAYER_NORM_EPSILON:g}"
        why = f"unused: open_s2s's Transformer layer norms use epsilon {eps_here} (OpenSeq2Seq's default)"
        self.ed.comment(value.end_lineno, why)
        self.note(value.lineno, f"norm_params epsilon {self.ed.text(value)} {why}")


def _class_params(name: str) -> dict:
    """PARAMS of the open_s2s class ``name`` (an encoder, decoder, loss or data layer)."""
    for module in ("open_s2s.encoders", "open_s2s.decoders", "open_s2s.losses", "open_s2s.data"):
        cls = getattr(importlib.import_module(module), name, None)
        if cls is not None:
            return dict(cls.all_params()) if hasattr(cls, "all_params") else dict(cls.PARAMS)
    return {}
