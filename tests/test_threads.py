"""Worker processes are set to one solver thread without upsetting numba's thread pool."""

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import os
    import numba
    import numpy as np

    @numba.njit(parallel=True)
    def total(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i]
        return s

    total(np.ones(10))                       # the pool starts with 2 threads
    os.environ["NUMBA_NUM_THREADS"] = "1"    # what a Dask nanny does after the import
    from biomech.threads import single_threaded
    single_threaded()
    print(numba.get_num_threads())

    @numba.njit
    def later(x):                            # a compilation re-reads the environment
        return 2 * x

    print(later(2))
""")


def test_one_thread_after_the_pool_started_and_compiling_still_works():
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "NUMBA_CACHE_DIR": os.devnull}
    run = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["1", "4"]
