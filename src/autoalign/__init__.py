"""autoalign: a workbench for automating the parts of alignment research that can be automated.

The public Python API lives in the capability packages; the most used names are re-exported here.
"""

from autoalign.errors import AutoalignError
from autoalign.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["AutoalignError", "Library", "Workspace", "__version__"]


def __getattr__(name: str):
    # Imported lazily: the library pulls in tantivy and numpy, which `autoalign --help` need not pay for.
    if name == "Library":
        from autoalign.library import Library

        return Library
    raise AttributeError(name)
