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
