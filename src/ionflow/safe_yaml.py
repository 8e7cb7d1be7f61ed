"""The one YAML loader of ionflow: safe types only, aliases bounded.

PyYAML's ``safe_load`` builds aliases as shared references, but everything downstream
(pydantic validation of ``dict[str, Any]`` fields, ``deepcopy``, JSON serialisation of a
job) expands them, so an alias bomb ("billion laughs": nine levels of ten aliases each) in
a study file grows memory until the kernel kills the process. :func:`load_yaml_text`
composes the document, counts the nodes it would hold once every alias is expanded
(memoised per node, so the count itself is linear in the file) and refuses the file
when that exceeds :data:`MAX_EXPANDED_NODES` or it uses more than :data:`MAX_ALIASES`
aliases. Ordinary anchors (``<<: *defaults``) stay allowed.

Every YAML file ionflow reads (settings, secrets, study, engine, store and cluster files,
``--defect`` values) goes through this module; it sits in the bottom layer so
``settings.py`` and ``secrets.py`` can use it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from ionflow.errors import ConfigError

__all__ = ["MAX_ALIASES", "MAX_EXPANDED_NODES", "load_yaml_file", "load_yaml_text"]

#: most alias uses (``*name``) a file may hold
MAX_ALIASES = 1000
#: most nodes a document may expand to (a study file holds a few hundred)
MAX_EXPANDED_NODES = 100_000


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that counts alias events while composing."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_ALIASES:
                raise _TooLarge(f"more than {MAX_ALIASES} YAML aliases (*name)")
        return super().compose_node(parent, index)


class _TooLarge(Exception):
    """The document would expand beyond the limits."""


def _expanded_size(root: Node) -> int:
    """Nodes the document holds once every alias is expanded (each node counted once)."""
    sizes: dict[int, int] = {}
    # iterative post-order walk (a deep document must not hit the recursion limit)
    stack: list[tuple[Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes and not children_done:
            continue
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            sizes[key] = 1
            continue
        if not children_done:
            if key in on_path:
                raise _TooLarge("a recursive YAML alias (an anchor used inside itself)")
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        on_path.discard(key)
        total = 1 + sum(sizes[id(child)] for child in children)
        if total > MAX_EXPANDED_NODES:
            raise _TooLarge(
                f"aliases expand it to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?)"
            )
        sizes[key] = total
    return sizes[id(root)]


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text with safe types and bounded alias expansion.

    Parameters
    ----------
    text
        The YAML document.
    source
        File name or option named in error messages.

    Returns
    -------
    Any
        The parsed value (None for an empty document).

    Raises
    ------
    ConfigError
        Invalid YAML, several documents, or aliases beyond the limits.
    """
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _expanded_size(root)
        return loader.construct_document(root)
    except _TooLarge as exc:
        raise ConfigError(f"{source}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path, what: str = "") -> Any:
    """Read and parse a YAML file (see :func:`load_yaml_text`).

    Parameters
    ----------
    path
        The file.
    what
        Label put before the path in messages (``settings file``); default none.

    Returns
    -------
    Any
        The parsed value (None for an empty document).
    """
    path = Path(path)
    label = f"{what} {path}".strip()
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not a text file") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot be read ({exc.strerror})") from None
    return load_yaml_text(text, label)
