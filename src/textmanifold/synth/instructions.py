"""Instruction templates: several paraphrases per change type, as in CLEVR-Change.

Every template names the changed object by its referring expression and, where the
change has one, the new value ("blue", "metal", "a sphere", "small") or the new object
and where it goes ("a small green rubber cylinder behind the gray cube").
"""

from __future__ import annotations

import numpy as np

from .change_types import Change
from .referring import Reference

TEMPLATES: dict[str, tuple[str, ...]] = {
    "color": (
        "change the {ref} to {new}",
        "make the {ref} {new}",
        "paint the {ref} {new}",
        "turn the {ref} {new}",
        "the {ref} should be {new}",
    ),
    "material": (
        "make the {ref} {new_material}",
        "change the {ref} to {new}",
        "turn the {ref} into {new}",
        "the {ref} should be made of {new}",
    ),
    "shape": (
        "change the {ref} to a {new}",
        "turn the {ref} into a {new}",
        "make the {ref} a {new}",
        "replace the {ref} with a {new}",
    ),
    "size": (
        "make the {ref} {new}",
        "change the {ref} to {new}",
        "the {ref} should be {new}",
        "resize the {ref} to {new}",
    ),
    "add": (
        "add a {new_object} {where} the {anchor}",
        "put a {new_object} {where} the {anchor}",
        "place a {new_object} {where} the {anchor}",
        "insert a {new_object} {where} the {anchor}",
    ),
    "drop": (
        "remove the {ref}",
        "delete the {ref}",
        "take away the {ref}",
        "get rid of the {ref}",
    ),
    "move": (
        "move the {ref} {where} the {anchor}",
        "put the {ref} {where} the {anchor}",
        "place the {ref} {where} the {anchor}",
        "shift the {ref} {where} the {anchor}",
    ),
}
NOUNS: tuple[str, ...] = ("object", "thing")
MATERIAL_ADJECTIVES = {
    "metal": ("metallic", "shiny metal", "metal"),
    "rubber": ("rubber", "matte rubber"),
}
PLACE_WORDS = {
    "left": ("to the left of", "left of"),
    "right": ("to the right of", "right of"),
    "front": ("in front of",),
    "behind": ("behind",),
}


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def instruction(
    rng: np.random.Generator, change: Change, target: Reference | None, anchor: Reference | None
) -> str:
    """The instruction for ``change``; ``target`` / ``anchor`` name its objects.

    Parameters
    ----------
    rng : numpy Generator
        Picks the template and the stand-in noun ("object" or "thing").
    change : Change
    target : Reference or None
        The changed object's referring expression in the old scene (None for an add).
    anchor : Reference or None
        The anchor object's referring expression for a move or an add.
    """
    noun = _pick(rng, NOUNS)
    fields = {
        "ref": target.text(noun) if target is not None else "",
        "anchor": anchor.text(noun) if anchor is not None else "",
    }
    if change.kind == "material":
        fields["new_material"] = _pick(rng, MATERIAL_ADJECTIVES[change.new])
    if change.relation is not None:
        fields["where"] = _pick(rng, PLACE_WORDS[change.relation])
    if change.kind == "add":
        attrs = change.new
        fields["new_object"] = " ".join(attrs[k] for k in ("size", "color", "material", "shape"))
    fields["new"] = change.new if isinstance(change.new, str) else ""
    return _pick(rng, TEMPLATES[change.kind]).format(**fields)
