"""textmanifold: image retrieval on a text-augmented manifold."""

__version__ = "0.1.0"
