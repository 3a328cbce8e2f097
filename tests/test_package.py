"""What `import gaopin` sets up for the process before numpy and pyarrow are imported."""

import os
import subprocess
import sys

import pytest

PROBE = "import gaopin, numpy; from numpy._core import multiarray; print(multiarray._get_madvise_hugepage())"


def _probe(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    done = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy advises huge pages only on Linux")
def test_numpy_huge_page_advice_is_off_by_default():
    assert _probe({}) == "False"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy advises huge pages only on Linux")
def test_numpy_huge_page_advice_set_by_the_user_is_kept():
    assert _probe({"NUMPY_MADVISE_HUGEPAGE": "1"}) == "True"


# Threads of the process once numpy is loaded: OpenBLAS would start one more per further core.
THREADS = "import os, gaopin, numpy; print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])"


def _threads(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    return subprocess.run([sys.executable, "-c", THREADS], env={**clean, **env}, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="threads counted in /proc; one core starts none")
def test_numpy_starts_no_blas_threads_by_default():
    assert _threads({}) == "1 1"


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="threads counted in /proc; one core starts none")
def test_blas_threads_set_by_the_user_are_kept():
    assert _threads({"OPENBLAS_NUM_THREADS": "2"}) == "2 2"


# Ten times a column of 64 MB made by Arrow and dropped: with its pages given back to the kernel
# at once (Arrow's own setting) each is faulted in anew, left to the kernel they are reused.
# Page faults, not time: about 157,000 the first way, about 16,000 the second.
CHURN = """
import resource, gaopin, numpy as np, pyarrow as pa, pyarrow.compute as pc
base = pa.array(np.zeros(8_000_000))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    column = pc.add(base, 1.0)
    del column
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(env: dict[str, str]) -> int:
    clean = {k: v for k, v in os.environ.items() if k not in ("JE_ARROW_MALLOC_CONF", "ARROW_DEFAULT_MEMORY_POOL")}
    done = subprocess.run([sys.executable, "-c", CHURN], env={**clean, **env}, capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="page faults counted as Linux counts them")
def test_arrows_allocator_keeps_freed_pages_for_the_next_columns():
    given_back = _faults({"JE_ARROW_MALLOC_CONF": "oversize_threshold:0"})  # (one of Arrow's own)
    kept = _faults({})
    assert kept * 3 < given_back, (kept, given_back)


def test_arrows_allocator_setting_made_by_the_user_is_kept():
    code = "import os, gaopin; print(os.environ['JE_ARROW_MALLOC_CONF'])"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "JE_ARROW_MALLOC_CONF": "narenas:2"}, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "narenas:2"
