"""One solver thread per worker process (cohort tasks, uncertainty-sample processes).

Numba re-reads ``NUMBA_NUM_THREADS`` from the environment at every compilation and raises
if it differs from the pool it has already started. So the pool size is never changed here:
the variable is pinned to the value numba started with, and the thread count is lowered with
``numba.set_num_threads`` (per calling thread), which numba allows at any time.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["THREAD_ENV", "single_threaded"]

# For worker processes started by us (LocalCluster, process pools): the native libraries
# read these when they load.
THREAD_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


def single_threaded() -> None:
    """Numba parallel kernels on one thread in the calling thread; OpenMP/MKL/OpenBLAS told
    one thread for libraries loaded later. Safe whenever numba was imported (before or after
    the environment was set, as in a spawned process that re-imported its parent's script)."""
    for key, value in THREAD_ENV.items():
        if key != "NUMBA_NUM_THREADS":
            os.environ.setdefault(key, value)
    with contextlib.suppress(Exception):  # an odd numba build must not fail the solve
        import numba

        os.environ["NUMBA_NUM_THREADS"] = str(numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(1)
