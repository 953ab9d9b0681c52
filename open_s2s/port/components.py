"""Keys of OpenSeq2Seq components that open_s2s names differently or does without."""

from __future__ import annotations

import ast

from open_s2s.port import tables
from open_s2s.port.syntax import fmt, key_of, literal


class ComponentKeys:
    """Mixin of ``Porter``: the rewrites that depend on the class a params dict belongs to."""

    def _component_keys(self, d: ast.Dict, keys: list[str | None], owner: str | None) -> set[int]:
        """Keys of ``owner``'s params that open_s2s names differently or does without."""
        handled = set()
        for i, key in enumerate(keys):
            why = tables.DROPPED_KEYS.get(owner or "", {}).get(key)
            if why:
                self.ed.remove_entry(d, i, f"dropped by open_s2s.port: {why}")
                self.note(d.keys[i].lineno, f'dropped "{key}" ({why})')
                handled.add(i)
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
