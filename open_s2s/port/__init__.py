"""Ports an OpenSeq2Seq config to open_s2s: ``python -m open_s2s.port OLD.py -o NEW.py``.

The result is the same config, edited where open_s2s differs (comments and layout kept),
with a comment where the new value needs one (what it was, and why it changed):

* imports: ``open_seq2seq.<package>`` -> the open_s2s package that has the class
  (``Image2Label`` -> ``SpeechCommands``, ``FullyConnectedDecoder`` ->
  ``FullyConnectedSCDecoder``); a class open_s2s does not have refuses the config;
* TensorFlow 1 objects -> plain strings: initializers (``initializer_params`` folded in,
  e.g. ``xavier_initializer`` + ``{'uniform': False}`` -> ``"glorot_normal"``), the contrib
  L2 regularizer -> ``"l2"`` with its ``scale`` halved (OpenSeq2Seq's was ``s*sum(w^2)/2``,
  Keras' is ``s*sum(w^2)``), ``tf.nn.relu`` and the clipped ReLU lambda -> ``"relu"`` /
  ``"clipped_relu"``, ``tf.train`` optimizers -> names (``LazyAdamOptimizer`` -> ``"Adam"``, with a
  comment), cuDNN / ``tf.nn.rnn_cell`` LSTM classes -> ``"lstm"``, ``tf.float32`` -> ``"float32"``;
* Tacotron 2: OpenSeq2Seq's batch-norm defaults written out where ours differ, and the decoder's
  ``output_type`` / ``num_magnitude_features`` taken from the data layer's params (OpenSeq2Seq's
  decoder read them there);
* options a class open_s2s has does not support (batch-norm Transformers, global style tokens,
  zoneout) refuse the config naming the option;
* NovoGrad's ``beta2`` -> 0.0: OpenSeq2Seq's NovoGrad never updated its second moment;
* component keys open_s2s names differently (SpecAugment masks, conv2d ``[k, 1]`` TDNN
  layers) or does without (the old LM decoder's library paths), mapped or dropped;
* ``import tensorflow as tf`` goes when nothing uses ``tf`` any more.

See docs/porting.md for the list of OpenSeq2Seq's configs and how each ports.
"""

from __future__ import annotations

import ast
import os

from open_s2s.port.edits import SourceEditor
from open_s2s.port.rewrite import Change, Porter, PortRefused
from open_s2s.port.syntax import dotted

__all__ = ["Change", "PortRefused", "port_source"]


def port_source(source: str, filename: str = "config.py") -> tuple[str, list[Change]]:
    """Ports the text of an OpenSeq2Seq config.

    Args:
      source: the config's Python source.
      filename: its name, for messages.

    Returns:
      ``(new source, changes)``, changes sorted by line of the original.

    Raises:
      PortRefused: one line naming the config and the class (or TensorFlow object)
        open_s2s does not have.
    """
    name = os.path.basename(filename)
    new, changes = Porter(source, name).run()
    new, dropped = _drop_tensorflow_import(new, source, name)
    header = f"# Ported from OpenSeq2Seq's {name} by `python -m open_s2s.port` (see docs/porting.md).\n"
    return header + new, sorted(changes + dropped, key=lambda c: c.line)


def _drop_tensorflow_import(new: str, old: str, name: str) -> tuple[str, list[Change]]:
    """Removes ``import tensorflow as tf`` when nothing uses ``tf`` (``Porter`` refused other ``tf`` objects;
    this checks again on the result)."""
    tree = ast.parse(new)
    imports = [s for s in tree.body if _is_tf_import(s)]
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "tf":
            while isinstance(parents.get(node), ast.Attribute):
                node = parents[node]
            where = f"{dotted(node)} (line {node.lineno})"
            raise PortRefused(f"{name}: {where} has no open_s2s equivalent known to the port")
    if not imports:
        return new, []
    old_lines = [s.lineno for s in ast.parse(old).body if _is_tf_import(s)]  # the same statements, in order
    ed = SourceEditor(new)
    changes = []
    for stmt, line in zip(imports, old_lines):
        if len(stmt.names) != 1:
            continue
        ed.replace_lines(stmt.lineno, stmt.end_lineno, "")
        changes.append(Change(line, "removed 'import tensorflow as tf' (nothing uses tf any more)"))
    return ed.apply(), changes


def _is_tf_import(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Import) and any(a.name == "tensorflow" for a in stmt.names)
