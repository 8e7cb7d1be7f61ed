"""Keep force-field banners off stdout, where ``--json`` prints its one document.

chgnet prints "CHGNet v… initialized with … parameters" and "CHGNet will run on cpu" with
``print`` when a model is loaded (``CHGNet.load``, ``CHGNetCalculator.__init__``); they go
to stderr instead, around the places ionflow makes atomate2 build a calculator.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["banners_to_stderr"]


@contextlib.contextmanager
def banners_to_stderr() -> Iterator[None]:
    """Send whatever is printed to stdout inside the block to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
