"""The change types of :mod:`textmanifold.synth.changes`: what a change is, what it did,
and the changed scene, with the kinds of change.

They live apart from the code that draws changes so that :mod:`.instructions` (which
words a :class:`Change`) and :mod:`.changes` (which draws one and asks for its
instruction) depend on this module and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .scene import Scene

KINDS: tuple[str, ...] = ("color", "material", "shape", "size", "add", "drop", "move")
ATTRIBUTE_KINDS: tuple[str, ...] = ("color", "material", "shape", "size")


@dataclass(frozen=True)
class ChangeSpec:
    """What to change, before a position or camera is drawn.

    ``object_id`` is the changed, dropped or moved object, or for an add the id the new
    object receives; ``new`` is the new attribute value, or for an add the new object's
    ``(size, color, material, shape)``; ``anchor_id`` and ``relation`` place a moved or
    added object ("behind the gray cube").
    """

    kind: str
    object_id: int
    new: Any = None
    anchor_id: int | None = None
    relation: str | None = None


@dataclass(frozen=True)
class Change:
    """What a change did: its record goes into ``scenes.json``.

    ``attribute`` is the attribute changed (``position`` for a move, ``object`` for an
    add or drop); ``old`` and ``new`` its values (an object's attributes for add/drop,
    ``[x, y]`` for a move).
    """

    kind: str
    object_id: int
    attribute: str
    old: Any
    new: Any
    anchor_id: int | None = None
    relation: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "object": self.object_id,
            "attribute": self.attribute,
            "old": self.old,
            "new": self.new,
            "anchor": self.anchor_id,
            "relation": self.relation,
        }


@dataclass(frozen=True)
class Child:
    """A changed scene (camera jittered), what changed, and the instruction."""

    scene: Scene
    change: Change
    instruction: str
