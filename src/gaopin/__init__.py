"""gaopin (高频): early warnings, the high-frequency ledger and monthly reports for 12345 tickets."""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# pyarrow's default allocator (mimalloc) spent seconds in the kernel per million rows on the
# machines measured (docs/performance.md); jemalloc does not. It must be chosen before pyarrow
# is first imported, which pandas does. Windows wheels have no jemalloc: leave the default.
if _sys.platform != "win32":
    _os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
