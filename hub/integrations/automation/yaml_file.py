"""``automations.yaml`` read and written round-trip (ruamel.yaml), keeping what people wrote.

The UI changes only the lines of the automation it edits: every other block, and the
comments between blocks, stay byte for byte. Within the edited block, a form keeps the node
(and comments) of every key whose value did not change; the YAML view keeps the text as
typed. Writes are atomic. Problems name the file and the line.

ruamel.yaml is imported on first use: a hub without automations never loads it (see
:meth:`AutomationsFile.load_items`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.integrations.automation.const import MAX_FILE_BYTES
from hub.integrations.automation.files import write_atomically
from hub.integrations.automation.nodes import plain

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq


@dataclass
class FileProblem(Exception):
    """The file (or a YAML text) cannot be read as automations."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


def _yaml(offset: int = 0) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long templates
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def parse(text: str, name: str) -> Any:
    """Round-trip nodes of a YAML text; FileProblem with the line on a syntax error."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise FileProblem(name, None, f"larger than {MAX_FILE_BYTES // 1024} KiB")
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return _yaml().load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise FileProblem(name, line, str(err.problem or err.context or "invalid YAML")) from err
    except YAMLError as err:
        raise FileProblem(name, None, str(err).splitlines()[0]) from err


def dump(node: Any, offset: int = 0) -> str:
    stream = io.StringIO()
    _yaml(offset).dump(node, stream)
    return stream.getvalue()


def _block_lines(text: str, items: CommentedSeq) -> list[tuple[int, int]] | None:
    """Each item's lines [start, end) in the text: up to the next item, less the blank
    lines and top-level comments before it (those belong to what follows). None when the
    file is not a block list (flow style, a single mapping): then it is written whole."""
    from ruamel.yaml.comments import CommentedSeq

    if text.lstrip().startswith(("[", "{")) or not isinstance(items, CommentedSeq):
        return None
    lines = text.splitlines(keepends=True)
    starts: list[int] = []
    for item in items:
        line = getattr(getattr(item, "lc", None), "line", None)
        if line is None:
            return None
        starts.append(int(line))
    ranges = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        ranges.append((start, end))
    return ranges


def _dash_column(text: str, items: CommentedSeq) -> int:
    for item in items:
        column = getattr(getattr(item, "lc", None), "col", None)
        if isinstance(column, int):
            return max(column - 2, 0)
    return 0


def as_block(snippet: str, offset: int) -> str:
    """A mapping's YAML text as one list item at ``offset`` (the text kept as typed)."""
    lines = snippet.strip("\n").splitlines()
    pad = " " * offset
    body = [pad + "- " + lines[0]] + [
        (pad + "  " + line) if line.strip() else "" for line in lines[1:]
    ]
    return "\n".join(body) + "\n"


def splice(text: str, items: CommentedSeq, index: int | None, block: str | None) -> str:
    """The file's text with item ``index`` replaced by ``block`` (None: removed; index
    None: appended), every other line as it was."""
    ranges = _block_lines(text, items)
    lines = text.splitlines(keepends=True)
    if ranges is None:
        raise ValueError("not a block list")
    if index is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return "".join(lines) + ("\n" if lines else "") + (block or "")
    start, end = ranges[index]
    return "".join([*lines[:start], *([block] if block else []), *lines[end:]])


def item_offset(text: str, items: CommentedSeq) -> int:
    return _dash_column(text, items)


def item_text(text: str, items: CommentedSeq, index: int) -> str | None:
    """What was written for item ``index``, as a mapping (its list dash taken off)."""
    ranges = _block_lines(text, items)
    if ranges is None:
        return None
    start, end = ranges[index]
    lines = text.splitlines()[start:end]
    width = _dash_column(text, items) + 2
    return "\n".join(line[width:] if len(line) >= width else line.strip() for line in lines) + "\n"


def as_list(document: Any, name: str) -> CommentedSeq:
    """The document as a list of automations (an empty file is an empty list)."""
    from ruamel.yaml.comments import CommentedSeq

    if document is None:
        return CommentedSeq()
    if isinstance(document, Mapping):  # a file with one automation, not in a list
        seq = CommentedSeq()
        seq.append(document)
        return seq
    if not isinstance(document, list):
        raise FileProblem(name, 1, "the file must be a list of automations")
    return document if isinstance(document, CommentedSeq) else CommentedSeq(document)


def to_node(value: Any) -> Any:
    """Plain data as round-trip nodes (so a dump looks like the rest of the file)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = to_node(item)
        return node
    if isinstance(value, list):
        seq = CommentedSeq()
        seq.extend(to_node(item) for item in value)
        return seq
    return value


def merge_into(old: CommentedMap, new: Mapping[str, Any]) -> None:
    """Make ``old`` say what ``new`` says, keeping every unchanged key's node as it was."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    for key in [k for k in old if k not in new]:
        del old[key]
    for key, value in new.items():
        if key in old and plain(old[key]) == plain(value):
            continue
        if isinstance(value, CommentedMap | CommentedSeq):
            old[key] = value
        else:
            old[key] = to_node(value)


class AutomationsFile:
    """The file on disk; blocking I/O, called from an executor."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name

    def read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError as err:
            raise FileProblem(self.name, None, "not UTF-8 text") from err

    def load(self) -> tuple[str, CommentedSeq]:
        text = self.read_text()
        return text, as_list(parse(text, self.name), self.name)

    def load_items(self) -> list[Any]:
        """The automations only, to run them: a file with nothing written in it is an
        empty list without loading the YAML parser (what :meth:`load` would say too)."""
        text = self.read_text()
        if not text.strip() and len(text.encode("utf-8", "replace")) <= MAX_FILE_BYTES:
            return []
        return as_list(parse(text, self.name), self.name)

    def write_text(self, text: str) -> None:
        write_atomically(self.path, text)

    def write(self, items: CommentedSeq) -> str:
        """The whole list written anew (when the file is not a block list)."""
        text = dump(items) if len(items) else "[]\n"
        write_atomically(self.path, text)
        return text
