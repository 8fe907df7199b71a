"""lakeshop's version, where every layer may read it (``lakeshop.__version__`` re-exports it).

The version comes from git tags (setuptools-scm, when the package is built or installed):
the tag ``v0.2.0`` gives ``0.2.0``, a commit after it ``0.2.1.devN+g<hash>``. It is read
from the installed package's metadata, so a development install (``pip install -e``) keeps
the version of its last install until it is installed again (``./dev`` does when
``pyproject.toml`` or the pins change).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lakeshop")
except PackageNotFoundError:  # imported from a source folder that was never installed
    __version__ = "0+unknown"
