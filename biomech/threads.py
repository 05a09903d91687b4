"""One solver thread per worker process (cohort tasks, uncertainty-sample processes).

Numba re-reads ``NUMBA_NUM_THREADS`` from the environment at every compilation and raises
if it differs from the pool it has already started. So the pool size is never changed here:
the variable is pinned to the value numba started with, and the thread count is lowered with
``numba.set_num_threads`` (per calling thread), which numba allows at any time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

__all__ = ["THREAD_ENV", "one_mkl_thread", "serial_numpy_blas", "single_threaded"]

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


@contextlib.contextmanager
def serial_numpy_blas() -> Iterator[None]:
    """numpy's and SciPy's OpenBLAS on one thread inside the block (MKL, used by PARDISO,
    keeps its threads).

    A solver loop mixes numba-parallel assembly with numpy vector work (norms, dots of
    10^5-10^6 entries, which gain nothing from threads). OpenBLAS's idle threads busy-wait
    after each call and take the cores from the next assembly: measured on 2 cores, a
    TET10 residual assembly at 10^5 DOF took 65-70 ms after numpy work instead of 35-40 ms.
    Also a decorator: ``@serial_numpy_blas()``. Nothing changes when ``OPENBLAS_NUM_THREADS``
    is set in the environment (the user's choice) or when threadpoolctl is missing.
    """
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        yield
        return
    try:
        from threadpoolctl import ThreadpoolController
        limiter = ThreadpoolController().select(internal_api="openblas").limit(limits=1)
    except Exception:  # an odd BLAS build must not fail the solve
        yield
        return
    with limiter:
        yield


@contextlib.contextmanager
def one_mkl_thread(libmkl) -> Iterator[None]:
    """MKL (the loaded ``libmkl``, e.g. PARDISO's) on one thread in the calling thread inside
    the block (``mkl_set_num_threads_local``): its threaded factorisation is not bitwise
    reproducible from run to run. Nothing changes with an MKL that lacks the call."""
    try:
        local = libmkl.MKL_Set_Num_Threads_Local
    except AttributeError:  # pragma: no cover - an MKL without it: its own threads
        yield
        return
    local.argtypes, local.restype = [ctypes.c_int], ctypes.c_int
    previous = local(1)
    try:
        yield
    finally:
        local(previous)
