"""One YAML loader for everything a user hands us (park profile, enterprise import).

``yaml.safe_load`` is safe from code execution but not from resource use or silent surprises: an alias bomb
(a few hundred bytes whose aliases expand to millions of values) ties up HA for seconds and bloats a config
entry, deep nesting overflows Python's stack, and a duplicate key silently keeps the last value. The loader
here refuses all of those, and text beyond a size cap is refused before any parsing. It is blocking CPU work:
HA callers run it in the executor.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import Any, Final

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_ALIASES: Final = 200
MAX_DEPTH: Final = 32
# A 1,000-enterprise reference park has about 76,000 values; legitimate documents stay far below this.
MAX_NODES: Final = 400_000

_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
# A key or header worth quoting back: a letter (any script) or _ first, then word characters, space, . or -.
_NAME_RE: Final = re.compile(r"^[^\W\d][\w .\-]{0,39}$")


def looks_like_name(text: str) -> bool:
    """Whether ``text`` may be quoted in a message: short and identifier-like, not a value from a file."""
    return bool(_NAME_RE.match(text)) and not text.endswith((" ", "."))


class YamlError(Exception):
    """Refused YAML: ``code`` (``too_large``, ``bad_yaml``, ``aliases``, ``depth``, ``duplicate_key``),
    ``placeholders`` for its message (never a value from the document)."""

    def __init__(self, code: str, **placeholders: Any) -> None:
        self.code = code
        self.placeholders = {k: str(v) for k, v in placeholders.items()}
        super().__init__(f"{code}: {self.placeholders}")


class _Refused(yaml.YAMLError):
    """Raised inside the loader; carries the :class:`YamlError` out through PyYAML's frames."""

    def __init__(self, error: YamlError) -> None:
        super().__init__(str(error))
        self.error = error


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases, expanded values and depth while composing; refuses duplicate keys."""

    def __init__(self, stream: str, max_aliases: int, max_nodes: int, max_depth: int) -> None:
        super().__init__(stream)
        self._max_aliases, self._max_nodes, self._max_depth = max_aliases, max_nodes, max_depth
        self._aliases = 0
        self._depth = 0
        # Expanded size (values counted as often as aliases repeat them) of every composed node.
        self._sizes: dict[int, int] = {}

    def _line(self) -> int:
        return int(self.peek_event().start_mark.line) + 1  # type: ignore[no-untyped-call]

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self._max_aliases:
                raise _Refused(YamlError("aliases", max=self._max_aliases, nodes=self._max_nodes))
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self._max_depth:
            raise _Refused(YamlError("depth", max=self._max_depth, line=self._line()))
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._sizes.get(id(child), 1) for child in node.value)
        elif isinstance(node, MappingNode):
            size += sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        if size > self._max_nodes:
            raise _Refused(YamlError("aliases", max=self._max_aliases, nodes=self._max_nodes))
        self._sizes[id(node)] = size
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            # Keys brought in by a merge (<<: *base) may be overridden: that is what merging is for.
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                shown = str(key) if looks_like_name(str(key)) else "…"
                raise _Refused(YamlError("duplicate_key", key=shown, line=key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep)


def load(
    text: str,
    *,
    max_bytes: int,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Parse one YAML document within the limits; raise :class:`YamlError`."""
    if len(text) > max_bytes or len(text.encode("utf-8", errors="surrogatepass")) > max_bytes:
        raise YamlError("too_large", max=max(1, max_bytes >> 20))
    loader = _LimitedLoader(text, max_aliases, max_nodes, max_depth)
    try:
        return loader.get_single_data()
    except _Refused as err:
        raise err.error from None
    except ConstructorError as err:
        # e.g. an unhashable key (a list used as a key) or an unknown tag.
        mark = err.problem_mark or err.context_mark
        raise YamlError("bad_yaml", reason=f"line {mark.line + 1}" if mark else "?") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise YamlError("bad_yaml", reason=f"line {mark.line + 1}" if mark else "?") from None
    except RecursionError:
        # Only reachable with a max_depth far above the default.
        raise YamlError("depth", max=max_depth, line="?") from None
    finally:
        loader.dispose()


def depth_exceeds(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed document (e.g. stored in a config entry) nests deeper than ``limit`` (iterative)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
