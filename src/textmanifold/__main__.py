"""``python -m textmanifold``: the command line (also ``torchrun -m textmanifold ...``)."""

from .cli import main

if __name__ == "__main__":
    main()
