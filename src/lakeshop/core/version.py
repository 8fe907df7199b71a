"""lakeshop's version, where every layer may read it (``lakeshop.__version__`` re-exports it)."""

__version__ = "0.1.0"
