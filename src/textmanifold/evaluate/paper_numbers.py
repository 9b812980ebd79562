"""The paper's published numbers (Tables 1, 3 and 4), shown beside ours in the report.

Transcribed from "Using Text to Teach Image Retrieval" (``paper.md``). They are reference
values only: our data (generated CLEVR scenes) and our text encoder differ from the
paper's, so the report compares the *direction* of each effect, never the magnitudes.
"""

from __future__ import annotations

# Table 1: label prediction. Per dataset: row -> (accuracy, retrievable points).
TABLE1_ROWS: dict[str, str] = {
    "A": "Baseline (Image + Eu)",
    "B": "Resnet + Geo",
    "C": "Baseline* in Image",
    "D": "Image + Geo",
    "E": "Baseline* in Joint",
    "F": "Joint + Geo",
}
TABLE1: dict[str, dict[str, tuple[float, int]]] = {
    "ADE20K": {
        "A": (0.1415, 15925),
        "B": (0.1524, 4169),
        "C": (0.2056, 4169),
        "D": (0.2770, 4169),
        "E": (0.2087, 5774),
        "F": (0.2703, 5774),
    },
    "OpenImage": {
        "A": (0.0609, 39665),
        "B": (0.1199, 5569),
        "C": (0.1270, 5569),
        "D": (0.1356, 5569),
        "E": (0.1198, 7461),
        "F": (0.1328, 7461),
    },
}

# Table 3: log of the number of smooth paths on CCI (depth 4, 11,111 images), per threshold:
# (image only, image + random, image + text).
TABLE3: dict[float, tuple[float, float, float]] = {
    0.50: (9.96, 10.49, 10.78),
    0.52: (10.29, 10.83, 11.20),
    0.54: (10.60, 11.18, 11.66),
    0.56: (10.95, 11.56, 12.11),
    0.58: (11.31, 11.82, 12.54),
}

# Table 4: composed retrieval R@1. (method, in_joint) -> {dataset: R@1}.
TABLE4: dict[tuple[str, bool], dict[str, float]] = {
    ("TIRG", False): {"CSS": 0.7525, "CCI": 0.4123},
    ("TIRG", True): {"CSS": 0.7995, "CCI": 0.7802},
    ("Relation", False): {"CSS": 0.5301, "CCI": 0.2121},
    ("Relation", True): {"CSS": 0.5531, "CCI": 0.6125},
}
