"""textmanifold: image retrieval on a text-augmented manifold."""

__version__ = "0.1.0"

# The library's names live in its packages (manifold, index, models, synth, loaders,
# evaluate, service, viz), each listing them in its own __all__ (docs/architecture.md).
__all__ = ["__version__"]
