"""Draw docs/cci_montage.png: a CCI source image and its ten children with instructions.

Run: ``.venv/bin/python scripts/cci_montage.py [--seed 0] [--out docs/cci_montage.png]``

The scenes are those of ``textmanifold cci generate`` with the same seed: the source
and the first level of the tree.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from textmanifold.synth.cci import plan_scenes, source_scene  # noqa: E402
from textmanifold.synth.render import render  # noqa: E402

WIDTH, HEIGHT = 320, 240
COLUMNS, ROWS = 4, 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--branching", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("docs/cci_montage.png"))
    args = parser.parse_args()
    source = source_scene(args.seed, WIDTH, HEIGHT)
    config = {"seed": args.seed, "depth": 1, "branching": args.branching,
              "size": [WIDTH, HEIGHT], "text_only_scenes": 0}
    nodes = plan_scenes(source, config)
    fig, axes = plt.subplots(ROWS, COLUMNS, figsize=(COLUMNS * 3.6, ROWS * 3.3))
    for ax in axes.flat:
        ax.axis("off")
    for ax, node in zip(axes.flat, nodes, strict=False):
        ax.imshow(render(node["scene"], WIDTH, HEIGHT))
        if node["parent"] is None:
            caption, weight = "source", "bold"
        else:
            caption, weight = f"{node['change']['type']}: {node['instruction']}", "normal"
        ax.set_title("\n".join(textwrap.wrap(caption, 40)), fontsize=9, fontweight=weight)
    fig.suptitle(f"CCI (seed {args.seed}): a source scene and its {len(nodes) - 1} children; "
                 "each child is one change plus a small camera move", fontsize=11)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=72)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
