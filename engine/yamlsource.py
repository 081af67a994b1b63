"""Reading YAML with positions.

`load_yaml` returns plain Python data plus a `Positions` map from a path (a tuple of keys
and list indexes) to the 1-based line and column where that value, or that key, was
written. Error messages use it to say `FILE:LINE:COL`. Only YAML's safe subset is read;
aliases are allowed but their expansion is bounded, so a "billion laughs" file is refused
instead of eating the memory of the server.

The document is parsed by libyaml (PyYAML's C parser, ten times faster: every workspace load
reads every base's YAML) when PyYAML has it; a text it cannot read, for whatever reason, is read
again by the pure-Python parser, whose error (with its line and column) is the one reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]

MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_BYTES = 5_000_000
FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)  # None when PyYAML was built without libyaml


class YamlProblem(Exception):
    """The text is not YAML we accept; carries a 1-based line and column."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


@dataclass
class Positions:
    """Where each value and each mapping key of a document was written."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if key and probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


class _Builder:
    def __init__(self) -> None:
        self.count = 0
        self.pos = Positions()
        self._constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self._constructor)

    def build(self, node: Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(
                f"document expands to more than {MAX_NODES} values (too many aliases?)",
                node.start_mark.line + 1, node.start_mark.column + 1)
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels",
                              node.start_mark.line + 1, node.start_mark.column + 1)
        self.pos.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise YamlProblem("mapping keys must be plain text",
                                      key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem("merge keys (<<) are not supported; write the keys out",
                                      key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                key = str(key_node.value)  # keys stay text: `no:` is a key, not False
                kpos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    raise YamlProblem(f"duplicate key '{key}'", *kpos)
                self.pos.keys[path + (key,)] = kpos
                out[key] = self.build(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        value = self._constructor.construct_object(node)
        if hasattr(value, "isoformat"):
            # Dates written in YAML stay text; field types parse them in one place.
            return str(node.value)
        return value


def _fast_compose(text: str) -> Node | None:
    """The document's node tree by libyaml, or None: none (an empty document) or not readable by it."""
    if FAST_LOADER is None:
        return None
    try:
        return yaml.compose(text, Loader=FAST_LOADER)
    except Exception:  # noqa: BLE001 - any trouble: the pure-Python parser reads it again and says why
        return None


def load_yaml(text: str) -> tuple[Any, Positions]:
    """Parse one YAML document; raise YamlProblem with a position when it cannot be read."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlProblem(f"file is larger than {MAX_BYTES // 1_000_000} MB")
    node = _fast_compose(text)
    try:
        if node is None:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise YamlProblem(f"YAML syntax error: {problem}", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML syntax error: {exc}") from None
    if node is None:
        return None, Positions()
    builder = _Builder()
    try:
        data = builder.build(node, (), 0)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(f"unsupported YAML value: {exc.problem}", line, col) from None
    except RecursionError:
        raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels") from None
    return data, builder.pos
