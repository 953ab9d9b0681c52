"""The rewrite of one OpenSeq2Seq config: imports, TensorFlow 1 objects, mapped keys.

``port_source`` walks the config's syntax tree and records targeted edits (see
``edits``); everything it does not touch, comments included, stays as it was. Classes
open_s2s does not have stop the port with ``PortRefused`` naming the class.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from typing import Any

from open_s2s.port import tables
from open_s2s.port.components import ComponentKeys
from open_s2s.port.edits import SourceEditor
from open_s2s.port.syntax import dotted, fmt, key_of, literal

SELECTORS = ("encoder", "decoder", "data_layer", "loss")


class PortRefused(Exception):
    """The config needs something open_s2s does not have; the message is one line naming it."""


@dataclass(frozen=True)
class Change:
    """One change, at a line of the original config."""

    line: int
    text: str


def _relu_cap(node: ast.Lambda) -> float | None:
    """``c`` of ``lambda x: tf.minimum(tf.nn.relu(x), c)`` (either argument order), else None."""
    body = node.body
    if len(node.args.args) != 1 or not isinstance(body, ast.Call) or dotted(body.func) != "tf.minimum":
        return None
    if len(body.args) != 2:
        return None
    for relu, cap in (body.args, body.args[::-1]):
        if (
            isinstance(relu, ast.Call)
            and dotted(relu.func) == "tf.nn.relu"
            and len(relu.args) == 1
            and isinstance(relu.args[0], ast.Name)
            and relu.args[0].id == node.args.args[0].arg
            and isinstance(cap, ast.Constant)
            and isinstance(cap.value, (int, float))
        ):
            return cap.value
    return None


class Porter(ComponentKeys):
    """Ports one config's source text; ``run()`` returns ``(new source, changes)``."""

    def __init__(self, source: str, filename: str):
        self.filename = filename
        self.tree = ast.parse(source, filename)
        self.ed = SourceEditor(source)
        self.changes: list[Change] = []
        self.renames: dict[str, str] = {}
        self.selected = self._selected_classes()
        self.module_values = self._module_values()
        self.primary = self._primary_params()
        self._noted_norms: set[int] = set()

    def refuse(self, message: str) -> None:
        raise PortRefused(f"{self.filename}: {message}")

    def note(self, line: int, text: str) -> None:
        self.changes.append(Change(line, re.sub(r"\s*\n\s*", " ", text)))  # one line per change

    def run(self) -> tuple[str, list[Change]]:
        self._check_model()
        rest = []
        for stmt in self.tree.body:  # classes first: a class open_s2s lacks is the first thing to name
            if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").split(".")[0] == "open_seq2seq":
                self._port_import(stmt)
            elif isinstance(stmt, ast.Import) and any(a.name.startswith("open_seq2seq") for a in stmt.names):
                self.refuse(f"line {stmt.lineno}: write 'from open_seq2seq.<package> import <Name>' to port it")
            else:
                rest.append(stmt)
        self._check_options()  # then options open_s2s lacks, before a TF object they use is refused
        for stmt in rest:
            self._visit(stmt, ())
        return self.ed.apply(), sorted(self.changes, key=lambda c: c.line)

    # ------------------------------------------------------------------ classes and imports

    def _selected_classes(self) -> dict[str, set[str]]:
        """Class names given to ``encoder``/``decoder``/``data_layer``/``loss`` anywhere in the file."""
        out: dict[str, set[str]] = {s: set() for s in SELECTORS}
        out["model"] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if key_of(k) in SELECTORS and isinstance(v, ast.Name):
                        out[key_of(k)].add(v.id)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                if any(isinstance(t, ast.Name) and t.id == "base_model" for t in node.targets):
                    out["model"].add(node.value.id)
        return out

    def _module_values(self) -> dict[str, ast.AST]:
        """Module-level names assigned exactly once, at the top level (not in an ``if``), to their value."""
        counts: dict[str, int] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        counts[t.id] = counts.get(t.id, 0) + 1
        out = {}
        for stmt in self.tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                if counts[stmt.targets[0].id] == 1:
                    out[stmt.targets[0].id] = stmt.value
        return out

    def value_of(self, node: ast.AST) -> tuple[bool, Any]:
        """The literal value of ``node``, following a module-level name assigned once; of a dict,
        its literal entries (``{"type": "batch_norm", "regularizer": regularizer}`` -> ``{"type": ...}``)."""
        if isinstance(node, ast.Name) and node.id in self.module_values:
            node = self.module_values[node.id]
        if isinstance(node, ast.Dict) and all(key_of(k) is not None for k in node.keys):
            entries = {key_of(k): self.value_of(v) for k, v in zip(node.keys, node.values)}
            return True, {k: v for k, (ok, v) in entries.items() if ok}
        return literal(node)

    def _primary_params(self) -> dict[int, str]:
        """``id`` of each ``<selector>_params`` dict that sits beside its ``<selector>`` key -> the class.

        These are the dicts that define a component (``base_params``' ``encoder_params``); a mode
        section's ``<selector>_params`` only overrides some keys of them.
        """
        out = {}
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Dict):
                continue
            entries = {key_of(k): v for k, v in zip(node.keys, node.values)}
            for selector in SELECTORS:
                cls, params = entries.get(selector), entries.get(f"{selector}_params")
                if isinstance(cls, ast.Name) and isinstance(params, ast.Dict):
                    out[id(params)] = cls.id
        return out

    def _check_model(self) -> None:
        if "Image2Label" in self.selected["model"]:
            layers = sorted(self.selected["data_layer"]) or ["no data layer"]
            if not set(layers) <= set(tables.SPEECH_COMMANDS_LAYERS):
                self.refuse(
                    f"Image2Label with {', '.join(layers)}: open_s2s has Image2Label only for speech commands "
                    f"(SpeechCommandsDataLayer); image classification is not part of open_s2s"
                )

    def _port_import(self, stmt: ast.ImportFrom) -> None:
        parts = stmt.module.split(".")
        package = tables.PACKAGES.get(parts[1]) if len(parts) > 1 else None
        groups: dict[str, list[str]] = {}
        for alias in stmt.names:
            new_name = tables.RENAMES.get(alias.name, alias.name)
            module = self._find(package, "open_s2s." + ".".join(parts[1:]), new_name)
            if module is None:
                self.refuse(
                    f"{alias.name} ({stmt.module}) is not in open_s2s yet; this config cannot be ported (line "
                    f"{stmt.lineno})"
                )
            if new_name != alias.name:
                self.renames[alias.asname or alias.name] = new_name
            groups.setdefault(module, []).append(new_name + (f" as {alias.asname}" if alias.asname else ""))
        text = "\n".join(f"from {m} import {', '.join(names)}" for m, names in groups.items())
        self.ed.replace(stmt, text)
        self.note(stmt.lineno, f"{self.ed.text(stmt)}  ->  {text.replace(chr(10), '; ')}")

    @staticmethod
    def _find(package: str | None, same_path: str, name: str) -> str | None:
        """The open_s2s module to import ``name`` from: the family package, else the same path."""
        for module in (package, same_path):
            if module is None:
                continue
            try:
                if hasattr(importlib.import_module(module), name):
                    return module
            except (ImportError, ValueError):
                continue
        return None

    # ------------------------------------------------------------------ the walk

    def _visit(self, node: ast.AST, path: tuple[str, ...]) -> None:
        if isinstance(node, ast.Dict):
            self._visit_dict(node, path)
            return
        if isinstance(node, ast.Name) and node.id in self.renames and isinstance(node.ctx, ast.Load):
            self.ed.replace(node, self.renames[node.id])
            self.note(node.lineno, f"{node.id}  ->  {self.renames[node.id]}")
            return
        if isinstance(node, ast.Call) and (dotted(node.func) or "").startswith("tf."):
            self.refuse(f"line {node.lineno}: {dotted(node.func)}(...) has no open_s2s equivalent")
        if self._expression(node):
            return
        name = dotted(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
        if name is not None and name.split(".")[0] == "tf" and isinstance(getattr(node, "ctx", None), ast.Load):
            self.refuse(f"line {node.lineno}: {name} has no open_s2s equivalent known to the port")
        for child in ast.iter_child_nodes(node):
            self._visit(child, path)

    def _expression(self, node: ast.AST) -> bool:
        """Rewrites a TF 1 object found outside the keys handled in context; True if it did."""
        if isinstance(node, ast.Lambda):
            return self._activation_lambda(node)
        name = dotted(node) if isinstance(node, ast.Attribute) else None
        if name is None:
            return False
        for table in (tables.DTYPES, tables.OPTIMIZERS):
            if name in table:
                value, why = table[name]
                self._set(node, fmt(value), name, why)
                return True
        if name in tables.RNN_CELLS:
            value, why = tables.RNN_CELLS[name]
            self._set(node, fmt(value), name, why)
            return True
        if name in tables.RNN_REFUSED:
            self.refuse(f"line {node.lineno}: {name}: {tables.RNN_REFUSED[name]}")
        if name in tables.ACTIVATIONS:
            self._set(node, fmt(tables.ACTIVATIONS[name]), name)
            return True
        if name in tables.INITIALIZERS:
            new, params = tables.INITIALIZERS[name]({})
            if params:
                self.refuse(f"line {node.lineno}: {name} needs initializer_params beside it to port")
            self._set(node, fmt(new), name)
            return True
        return False

    def _set(self, node: ast.AST, text: str, old: str, why: str | None = None) -> None:
        self.ed.replace(node, text)
        self.note(node.lineno, f"{old}  ->  {text}" + (f" ({why})" if why else ""))
        if why:
            self.ed.comment(node.end_lineno, why)

    def _activation_lambda(self, node: ast.Lambda) -> bool:
        """``lambda x: tf.minimum(tf.nn.relu(x), 20.0)`` -> ``"clipped_relu"``."""
        cap = _relu_cap(node)
        if cap is None or float(cap) not in tables.CAPPED_RELUS:
            text = " ".join(self.ed.text(node).split())
            self.refuse(f"line {node.lineno}: {text} has no named activation in open_s2s")
        self._set(node, fmt(tables.CAPPED_RELUS[float(cap)]), self.ed.text(node))
        return True

    def _visit_dict(self, d: ast.Dict, path: tuple[str, ...]) -> None:
        keys = [key_of(k) for k in d.keys]
        handled: set[int] = set()
        owner = self._owner(d, path)
        for i, key in enumerate(keys):
            if key in ("initializer", "regularizer") and self._tf_value(d.values[i]):
                handled |= self._folded(d, keys, i, key)
            elif key == "optimizer":
                handled |= self._optimizer(d, keys, i)
        handled |= self._component_keys(d, keys, owner)
        for i, (k, v) in enumerate(zip(d.keys, d.values)):
            if i in handled:
                continue
            if k is not None:
                self._visit(k, path)
            self._visit(v, (*path, keys[i] or "?"))

    def _tf_value(self, node: ast.AST) -> bool:
        return (dotted(node) or "").startswith("tf.")

    def _owner(self, d: ast.Dict, path: tuple[str, ...]) -> str | None:
        """The class whose params ``d`` is (from ``<selector>_params`` and the selector's value)."""
        if not path or not path[-1].endswith("_params"):
            return None
        selector = path[-1][: -len("_params")]
        names = self.selected.get(selector, set())
        return next(iter(names)) if len(names) == 1 else None

    # ------------------------------------------------------------------ keys handled in context

    def _folded(self, d: ast.Dict, keys: list[str | None], i: int, key: str) -> set[int]:
        """``initializer``/``regularizer`` with its sibling ``*_params`` folded into plain values."""
        name = dotted(d.values[i])
        j = keys.index(f"{key}_params") if f"{key}_params" in keys else None
        if key == "regularizer":
            return self._regularizer(d, i, j, name)
        given: dict[str, Any] = {}
        if j is not None:
            ok, given = literal(d.values[j])
            if not ok or not isinstance(given, dict):
                self.refuse(f"line {d.values[j].lineno}: initializer_params must be a literal dict to port")
        if name not in tables.INITIALIZERS:
            self.refuse(f"line {d.values[i].lineno}: initializer {name} has no Keras equivalent known to the port")
        new, params = tables.INITIALIZERS[name](dict(given))
        params.pop("dtype", None)
        was = name + (f"({', '.join(f'{k}={v!r}' for k, v in given.items())})" if given else "")
        self.ed.replace(d.values[i], fmt(new))
        self.ed.comment(d.values[i].end_lineno, was)
        self.note(d.values[i].lineno, f"{was}  ->  {fmt(new)}")
        if j is not None:
            if params:
                self.ed.replace(d.values[j], fmt(params))
                self.note(d.values[j].lineno, f"initializer_params  ->  {fmt(params)} (Keras' arguments)")
            else:
                self.ed.remove_entry(d, j)
                self.note(d.values[j].lineno, "initializer_params folded into the initializer's name")
        elif params:
            self.ed.add_entry(d, f'"initializer_params": {fmt(params)}')
        return {i} | ({j} if j is not None else set())

    def _regularizer(self, d: ast.Dict, i: int, j: int | None, name: str) -> set[int]:
        if name not in tables.L2_REGULARIZERS:
            self.refuse(f"line {d.values[i].lineno}: regularizer {name}: open_s2s has L2 regularization only")
        arg, factor = tables.L2_REGULARIZERS[name]
        self.ed.replace(d.values[i], '"l2"')
        self.note(d.values[i].lineno, f'{name}  ->  "l2"')
        if j is None:
            return {i}
        params = d.values[j]
        if not isinstance(params, ast.Dict) or arg not in [key_of(k) for k in params.keys]:
            self.refuse(f"line {params.lineno}: regularizer_params must be a dict with '{arg}' to port")
        k = [key_of(k) for k in params.keys].index(arg)
        scale = params.values[k]
        if arg != "scale":
            self.ed.replace(params.keys[k], '"scale"')
        if factor != 1.0:
            ok, value = literal(scale)
            new = fmt(value * factor) if ok and isinstance(value, (int, float)) else f"({self.ed.text(scale)}) / 2"
            self.ed.replace(scale, new)
            was = self.ed.text(scale)
            self.ed.comment(scale.end_lineno, f"OpenSeq2Seq's {was} halved: {tables.L2_HALVING_COMMENT}")
            self.note(scale.lineno, f"L2 scale {self.ed.text(scale)}  ->  {new} ({tables.L2_HALVING_NOTE})")
        return {i, j}

    def _optimizer(self, d: ast.Dict, keys: list[str | None], i: int) -> set[int]:
        value = d.values[i]
        name = dotted(value) or (value.id if isinstance(value, ast.Name) else None)
        ok, given = literal(value)
        if ok and isinstance(given, str):
            from open_s2s.optimizers import OPTIMIZERS  # noqa: PLC0415

            if given.lower() not in OPTIMIZERS:
                self.refuse(f"line {value.lineno}: optimizer {given!r} is not in open_s2s ({sorted(OPTIMIZERS)})")
            return {i}
        if name and name.startswith("tf.") and name not in tables.OPTIMIZERS:
            self.refuse(f"line {value.lineno}: optimizer {name} is not in open_s2s")
        if name == "NovoGrad":
            self._novograd_beta2(d, keys)
        return set()

    def _novograd_beta2(self, d: ast.Dict, keys: list[str | None]) -> None:
        why = "OpenSeq2Seq's NovoGrad never updated its second moment: its runs used the step's ||g||^2, i.e. beta2 = 0"
        if "optimizer_params" not in keys:
            self.ed.add_entry(d, '"optimizer_params": {"beta2": 0.0}', why)
            self.note(d.lineno, f"NovoGrad: added beta2 0.0 ({why})")
            return
        params = d.values[keys.index("optimizer_params")]
        if not isinstance(params, ast.Dict):
            self.refuse(f"line {params.lineno}: NovoGrad's optimizer_params must be a dict literal to port")
        names = [key_of(k) for k in params.keys]
        if "beta2" in names:
            old = params.values[names.index("beta2")]
            self.ed.replace(old, "0.0")
            self.ed.comment(old.end_lineno, f"was {self.ed.text(old)}. {why}")
            self.note(old.lineno, f"NovoGrad beta2 {self.ed.text(old)}  ->  0.0 ({why})")
        else:
            self.ed.add_entry(params, '"beta2": 0.0', why)
            self.note(params.lineno, f"NovoGrad: added beta2 0.0 ({why})")
