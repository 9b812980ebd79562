"""Tiny Collections for the learning tests.

``shapes_collection`` draws a CCI-like tree with PIL (no dependency on the renderer): a
root scene of coloured shapes, ``branching`` children per scene, each by one change
(colour, shape, move, add), with a description per image and an instruction per pair.
``cci_subset`` takes about 20 pairs of a depth-2 CCI.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from textmanifold.collection import Item, Pair, read_collection, write_collection

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 210, 40),
    "purple": (150, 60, 190),
    "gray": (128, 128, 128),
}
SHAPES = ("circle", "square", "triangle")
CELLS = [(x, y) for y in range(3) for x in range(3)]
WHERE = ("left", "centre", "right")


def _draw(objects: list[dict], size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), (235, 235, 235))
    pen = ImageDraw.Draw(image)
    step = size / 3
    for obj in objects:
        cx, cy = (obj["cell"][0] + 0.5) * step, (obj["cell"][1] + 0.5) * step
        r = step * 0.38
        box = (cx - r, cy - r, cx + r, cy + r)
        fill = COLORS[obj["color"]]
        if obj["shape"] == "circle":
            pen.ellipse(box, fill=fill)
        elif obj["shape"] == "square":
            pen.rectangle(box, fill=fill)
        else:
            pen.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    return image


def _signature(objects: list[dict]) -> tuple:
    return tuple(sorted((o["color"], o["shape"], tuple(o["cell"])) for o in objects))


def _describe(objects: list[dict]) -> str:
    parts = [
        f"a {o['color']} {o['shape']} at the {['top', 'middle', 'bottom'][o['cell'][1]]} "
        f"{WHERE[o['cell'][0]]}"
        for o in objects
    ]
    return "there is " + ", ".join(parts) + "."


def _change(objects: list[dict], rng: np.random.Generator) -> tuple[list[dict], str]:
    new = copy.deepcopy(objects)
    free = [c for c in CELLS if all(tuple(o["cell"]) != c for o in new)]
    kind = rng.choice(
        ["color", "shape", "move", "add"] if len(new) < 4 else ["color", "shape", "move"]
    )
    if kind == "add":
        obj = {
            "color": str(rng.choice(list(COLORS))),
            "shape": str(rng.choice(SHAPES)),
            "cell": free[rng.integers(len(free))],
        }
        new.append(obj)
        return new, f"add a {obj['color']} {obj['shape']}"
    target = new[rng.integers(len(new))]
    name = f"the {target['color']} {target['shape']}"
    if kind == "color":
        target["color"] = str(rng.choice([c for c in COLORS if c != target["color"]]))
        return new, f"make {name} {target['color']}"
    if kind == "shape":
        target["shape"] = str(rng.choice([s for s in SHAPES if s != target["shape"]]))
        return new, f"turn {name} into a {target['shape']}"
    target["cell"] = free[rng.integers(len(free))]
    return new, f"move {name} to the {WHERE[target['cell'][0]]}"


def shapes_collection(
    root: Path,
    *,
    depth: int = 2,
    branching: int = 4,
    size: int = 64,
    seed: int = 0,
    text_only: int = 0,
) -> Path:
    """Write a tree-of-changes Collection; every pair and image is in split "train"."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    scenes = [
        [
            {"color": "red", "shape": "circle", "cell": (0, 1)},
            {"color": "blue", "shape": "square", "cell": (2, 1)},
        ]
    ]
    parents, items, pairs = [0], [], []
    seen = {_signature(scenes[0])}
    level = [0]
    for _ in range(depth):
        next_level = []
        for parent in level:
            for _ in range(branching):
                child, instruction = _change(scenes[parent], rng)
                while _signature(child) in seen:  # every image must be distinct
                    child, instruction = _change(scenes[parent], rng)
                seen.add(_signature(child))
                scenes.append(child)
                parents.append(parent)
                pairs.append(
                    Pair(f"img{parent:04d}", f"img{len(scenes) - 1:04d}", instruction, "train")
                )
                next_level.append(len(scenes) - 1)
        level = next_level
    for i, objects in enumerate(scenes):
        _draw(objects, size).save(root / "images" / f"img{i:04d}.png")
        items.append(
            Item(
                id=f"img{i:04d}",
                modality="image",
                path=f"images/img{i:04d}.png",
                text=_describe(objects),
                split="train",
            )
        )
    for j in range(text_only):
        objects, _ = _change(scenes[0], rng)
        items.append(Item(id=f"txt{j:04d}", modality="text", text=_describe(objects)))
    return write_collection(root, name="shapes", items=items, pairs=pairs)


def cci_subset(root: Path, *, n_pairs: int = 20, size: int = 64, seed: int = 0) -> Path:
    """The first ``n_pairs`` pairs of a depth-2 CCI (branching 4: 21 images, 20 pairs) at
    ``size`` x ``size`` pixels, all moved to split "train"; images stay in the CCI."""
    from textmanifold.synth.cci import generate_cci

    full = Path(root) / "cci"
    generate_cci(full, depth=2, branching=4, size=(size, size), seed=seed, progress=False)
    coll = read_collection(full)
    pairs = coll.pairs[:n_pairs]
    used = {end for p in pairs for end in (p.source, p.target)}
    items = [
        Item(id=it.id, modality="image", path=it.path, text=it.text, split="train")
        for it in coll.images()
        if it.id in used
    ]
    pairs = [Pair(p.source, p.target, p.text, "train") for p in pairs]
    return write_collection(
        Path(root) / "subset",
        name="cci-subset",
        items=items,
        pairs=pairs,
        image_root=coll.image_root,
    )
