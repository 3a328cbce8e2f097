"""gaopin (高频): early warnings, the high-frequency ledger and monthly reports for 12345 tickets."""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# pyarrow's default allocator (mimalloc) spent seconds in the kernel per million rows on the
# machines measured (docs/performance.md); jemalloc does not. It must be chosen before pyarrow
# is first imported, which pandas does. Windows wheels have no jemalloc: leave the default.
if _sys.platform != "win32":
    _os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    # Arrow's jemalloc gives the pages of a freed large buffer back to the kernel at once, and the
    # next columns fault them in again. They are left to the kernel to take back when it needs
    # them (MADV_FREE, "muzzy"), not taken away at once: reused meanwhile without a fault
    # (docs/performance.md). Read by jemalloc when pyarrow is first imported, after Arrow's own
    # settings, whose others it keeps.
    _os.environ.setdefault("JE_ARROW_MALLOC_CONF", "muzzy_decay_ms:-1")
# numpy asks the kernel for huge pages behind every large array. Where transparent huge pages
# are given on request only (`madvise`, the usual setting), the kernel compacts memory for such a
# page and zeroes all 2 MB of it at the first touch: `warn` on a district year spent 0.2 s more in
# the kernel and was 0.15 s slower, in 8 of 8 interleaved pairs (docs/performance.md). numpy
# reads the setting when it is first imported.
_os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
# numpy's OpenBLAS starts a thread per further core when numpy is imported, and each spins for a
# while waiting for work that gaopin never gives it (no linear algebra here): about 0.1 s of a
# core per process, taken from the report's own work while its chart process starts
# (docs/performance.md). Read when numpy is first imported.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
