"""Targeted edits of Python source at ``ast`` node positions, keeping everything else.

The port rewrites a few expressions and dict entries of a config; rebuilding the file
from the tree (``ast.unparse``) would lose its comments, blank lines and layout, which are
what make it the user's config. So edits are spans of the original text, applied from the
end; comments go at the end of a line, or above it when the line already has one.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


class SourceEditor:
    """Collects non-overlapping replacements of a source text and applies them at once."""

    def __init__(self, source: str):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self._line_starts = [0]
        for line in self.lines:
            self._line_starts.append(self._line_starts[-1] + len(line))
        self._edits: list[_Edit] = []
        self._comments: dict[int, list[str]] = {}
        self._commented_lines = _lines_with_comments(source)

    # ------------------------------------------------------------------ positions

    def offset(self, line: int, col: int) -> int:
        """Character offset of ``ast``'s (1-based line, UTF-8 byte column)."""
        text = self.lines[line - 1]
        return self._line_starts[line - 1] + len(text.encode()[:col].decode())

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def indent_of(self, line: int) -> str:
        text = self.lines[line - 1]
        return text[: len(text) - len(text.lstrip())]

    # ------------------------------------------------------------------ edits

    def replace(self, node: ast.AST, text: str) -> None:
        self.replace_span(*self.span(node), text)

    def replace_span(self, start: int, end: int, text: str) -> None:
        for e in self._edits:
            if start < e.end and e.start < end or (start == end == e.start):
                raise ValueError(f"overlapping edits at {start}-{end} and {e.start}-{e.end}")
        self._edits.append(_Edit(start, end, text))

    def replace_lines(self, first: int, last: int, text: str) -> None:
        """Replaces whole lines ``first..last`` (1-based, inclusive) with ``text`` (ending in a newline)."""
        self.replace_span(self._line_starts[first - 1], self._line_starts[last], text)

    def comment(self, line: int, text: str) -> None:
        """Adds ``# text`` at the end of ``line`` (or on a line of its own above it if it has a comment)."""
        self._comments.setdefault(line, []).append(text)

    def remove_entry(self, d: ast.Dict, i: int, note: str | None = None) -> None:
        """Removes entry ``i`` of dict ``d``; with ``note``, leaves it commented out with the note.

        An entry alone on its lines goes with its lines (or becomes one comment line); an
        entry sharing a line with others is cut out with its comma, and ``note`` goes at the
        end of that line.
        """
        key, value = d.keys[i], d.values[i]
        start = self.offset(key.lineno, key.col_offset)
        end = self.offset(value.end_lineno, value.end_col_offset)
        after = self.source[end:]
        comma = len(after) - len(after.lstrip(" \t"))
        if after[comma : comma + 1] == ",":
            end += comma + 1
        first, last = key.lineno, value.end_lineno
        before = self.source[self._line_starts[first - 1] : start]
        rest = self.source[end : self._line_starts[last]]
        if not before.strip() and (not rest.strip() or rest.strip().startswith("#")):
            entry = " ".join(self.source[start:end].rstrip(",").split())
            self.replace_lines(first, last, f"{self.indent_of(first)}# {entry}  ({note})\n" if note else "")
            return
        while end < len(self.source) and self.source[end] == " ":
            end += 1
        self.replace_span(start, end, "")
        if note:
            self.comment(first, f"{' '.join(self.source[start:end].split())} {note}")

    def add_entry(self, d: ast.Dict, entry: str, comment: str | None = None) -> None:
        """Appends ``entry`` (``'"key": value'``) to dict ``d`` (on a line of its own if ``d`` spans lines)."""
        self.add_entries(d, [(entry, comment)])

    def add_entries(self, d: ast.Dict, entries: list[tuple[str, str | None]]) -> None:
        """Appends ``(entry, comment)`` pairs to dict ``d`` in one edit (edits may not share a position)."""
        if not entries:
            return
        texts = [e for e, _ in entries]
        comments = [c for _, c in entries if c]
        if not d.values:
            start, end = self.span(d)
            self.replace_span(start, end, "{" + ", ".join(texts) + "}")
            for comment in dict.fromkeys(comments):
                self.comment(d.lineno, comment)
            return
        last = d.values[-1]
        end = self.offset(last.end_lineno, last.end_col_offset)
        after = self.source[end:]
        has_comma = after.lstrip(" \t").startswith(",")
        if d.lineno == d.end_lineno or last.end_lineno == d.end_lineno:  # the closing brace ends the line
            self.replace_span(end, end, "".join(f", {e}" for e in texts))
            for comment in dict.fromkeys(comments):
                self.comment(d.lineno, comment)
            return
        indent = self.indent_of(d.keys[-1].lineno)
        line_end = self._line_starts[last.end_lineno]
        lines = "".join(f"{indent}{e},{f'  # {c}' if c else ''}\n" for e, c in entries)
        if not has_comma:
            self.replace_span(end, end, ",")
        self.replace_span(line_end, line_end, lines)

    # ------------------------------------------------------------------ result

    def _inside_edit(self, pos: int) -> _Edit | None:
        return next((e for e in self._edits if e.start <= pos < e.end), None)

    def _line_of(self, offset: int) -> int:
        return next(i for i, start in enumerate(self._line_starts[1:], 1) if offset < start)

    def apply(self) -> str:
        """The edited source, with the comments added."""
        edits = list(self._edits)
        comments: dict[int, list[str]] = {}
        for line, notes in self._comments.items():
            # a comment on a line whose end an edit replaces goes to the edit's last line
            while line < len(self.lines) and (e := self._inside_edit(self._line_starts[line] - 1)) is not None:
                line = self._line_of(e.end - 1) if self._line_of(e.end - 1) != line else line + 1
            comments.setdefault(line, []).extend(notes)
        for line, notes in comments.items():
            text = "; ".join(notes)
            start = self._line_starts[line - 1]
            if line in self._commented_lines and self._inside_edit(start) is None:
                edits.append(_Edit(start, start, f"{self.indent_of(line)}# {text}\n"))
            else:
                eol = len(self.lines[line - 1].rstrip("\r\n"))
                edits.append(_Edit(start + eol, start + eol, f"  # {text}"))
        out = self.source
        for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
            out = out[: e.start] + e.text + out[e.end :]
        return out


def _lines_with_comments(source: str) -> set[int]:
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            lines.add(tok.start[0])
    return lines
