"""Reference builders shared by the manifold, evaluation and CLI tests: points on the
sphere, brute-force great-circle graphs, and the smooth-path reference of DESIGN.md."""

import itertools

import networkx as nx
import numpy as np
import scipy.sparse
from sklearn.datasets import make_moons

from textmanifold.manifold.graph import great_circle_graph

# ----------------------------------------------------------------------------- points


def sphere_points(n: int, d: int, seed: int, dtype=np.float64) -> np.ndarray:
    """``n`` Gaussian points in ``d`` dimensions, L2-normalised onto the unit sphere."""
    X = np.random.default_rng(seed).normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(dtype)


def sphere_points32(n: int, d: int, seed: int) -> np.ndarray:
    """:func:`sphere_points` in float32, the dtype embeddings are stored in."""
    return sphere_points(n, d, seed, np.float32)


def on_sphere(points: np.ndarray, scale: float = 0.15) -> np.ndarray:
    """Lift 2-D points onto a small cap of the unit sphere in 3-D."""
    X = np.column_stack([scale * points, np.ones(len(points))])
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def moons(n: int, seed: int, noise: float = 0.05):
    points, y = make_moons(n, noise=noise, random_state=seed)
    return on_sphere(points), ["upper" if v == 0 else "lower" for v in y]


def on_circle(angles) -> np.ndarray:
    angles = np.asarray(angles, dtype=float)
    return np.column_stack([np.cos(angles), np.sin(angles), np.zeros(len(angles))])


def arc_graph(X: np.ndarray, threshold: float) -> scipy.sparse.csr_matrix:
    """Brute-force great-circle graph: all pairs, float64 arccos."""
    angle = np.arccos(np.clip(X @ X.T, -1, 1))
    np.fill_diagonal(angle, np.inf)
    return scipy.sparse.csr_matrix(np.where(angle < threshold, angle, 0.0))


# ----------------------------------------------------------------------------- smooth paths


def smooth_by_definition(scenes, reach: np.ndarray, rule: str = "merged") -> bool:
    """DESIGN.md "Smooth path", read literally, on a dense boolean scene matrix.

    ``literal``: a step between two vertices of the same scene is no change (not smooth).
    """
    if rule == "literal" and any(a == b for a, b in itertools.pairwise(scenes)):
        return False
    merged = [scenes[0]] + [b for a, b in itertools.pairwise(scenes) if b != a]
    if len(set(merged)) < len(merged):
        return False
    adjacent_ok = all(reach[a, b] for a, b in itertools.pairwise(merged))
    shortcut = any(
        reach[merged[i], merged[j]] for i in range(len(merged)) for j in range(i + 2, len(merged))
    )
    return adjacent_ok and not shortcut


def reference_counts(graph, scene, is_image, reach, rule: str = "merged") -> np.ndarray:
    """networkx Dijkstra from every image vertex; check each path by the definition."""
    G = nx.from_scipy_sparse_array(graph)
    reach = scipy.sparse.csr_matrix(reach).toarray()
    counts = np.zeros(graph.shape[0], dtype=np.int64)
    for s in np.flatnonzero(is_image):
        paths = nx.single_source_dijkstra_path(G, int(s), weight="weight")
        for t, path in paths.items():
            if t != s and is_image[t]:
                counts[s] += smooth_by_definition([scene[v] for v in path], reach, rule)
    return counts


def random_case(seed, n=60, n_scenes=14, p_edge=0.08, p_reach=0.3):
    """Random symmetric graph with float weights (no ties), two components, text vertices."""
    rng = np.random.default_rng(seed)
    half = n // 2
    upper = np.triu(rng.random((n, n)) < p_edge, 1)
    upper[:half, half:] = False  # two disconnected parts
    weights = np.where(upper, rng.random((n, n)) + 0.05, 0.0)
    graph = scipy.sparse.csr_matrix(weights + weights.T)
    reach = np.triu(rng.random((n_scenes, n_scenes)) < p_reach, 1)
    reach = scipy.sparse.csr_matrix(reach | reach.T)
    scene = rng.integers(0, n_scenes, n)  # n > n_scenes: scenes repeat across vertices
    is_image = rng.random(n) < 0.6
    return graph, scene, is_image, reach


def tree_case(seed, branching=3, depth=3, d=16, step=0.35):
    """A small CCI-like set: a tree of scenes, images along it, text beside each image."""
    rng = np.random.default_rng(seed)
    n_scenes = sum(branching**k for k in range(depth + 1))
    parent = (np.arange(n_scenes) - 1) // branching
    walk = np.empty((n_scenes, d))
    walk[0] = rng.standard_normal(d)
    walk[0] /= np.linalg.norm(walk[0])
    for i in range(1, n_scenes):
        walk[i] = walk[parent[i]] + step * rng.standard_normal(d) / np.sqrt(d)
    images = walk + 0.5 * step * rng.standard_normal((n_scenes, d)) / np.sqrt(d)
    texts = walk + 0.2 * step * rng.standard_normal((n_scenes, d)) / np.sqrt(d)
    X = np.vstack([images, texts])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    graph = great_circle_graph(X, target_degree=6)
    child = np.arange(1, n_scenes)
    siblings = child[1:][(child[1:] - 1) // branching == (child[:-1] - 1) // branching]
    rows = np.concatenate([child, siblings])
    cols = np.concatenate([parent[1:], siblings - 1])
    reach = scipy.sparse.csr_matrix(
        (np.ones(len(rows), bool), (rows, cols)), shape=(n_scenes, n_scenes)
    )
    reach = reach + reach.T
    scene = np.tile(np.arange(n_scenes), 2)
    is_image = np.arange(2 * n_scenes) < n_scenes
    return graph, scene, is_image, reach
