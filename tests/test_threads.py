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


BLAS_CHILD = textwrap.dedent("""
    import json
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from biomech.fem.newton import solve_incremental
    from biomech.threads import serial_numpy_blas

    def openblas():
        return sorted({i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"})

    threadpool_limits(2, user_api="blas")   # as OpenBLAS starts on a 2-core machine
    out = {"before": openblas()}
    with serial_numpy_blas():
        out["inside"] = openblas()
    out["after"] = openblas()

    class OneSpring:                          # k u = lam, k = 2 N/mm: one dof
        n_dofs = 1
        constrained = np.zeros(1, dtype=bool)
        def prescribed(self, lam):
            return np.zeros(1)
        def assemble(self, u, lam, want_K):
            out.setdefault("during_solve", openblas())
            return np.array([2.0 * u[0] - lam]), np.array([2.0]), 0
        def tangent(self, data):
            import scipy.sparse as sp
            return sp.csr_matrix(data.reshape(1, 1))

    class Direct:
        def factorize(self, K):
            self.k = K.toarray()[0, 0]
        def solve(self, b):
            return b / self.k

    res = solve_incremental(OneSpring(), Direct())
    out["u"] = float(res.u[0])
    print(json.dumps(out))
""")


def _run_blas_child(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", BLAS_CHILD], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_solver_loops_run_numpy_blas_on_one_thread_and_restore_it():
    r = _run_blas_child({})
    assert r["before"] == [2] and r["after"] == [2]
    assert r["inside"] == [1]
    assert r["during_solve"] == [1]
    assert abs(r["u"] - 0.5) < 1e-12


def test_an_explicit_openblas_setting_is_left_alone():
    r = _run_blas_child({"OPENBLAS_NUM_THREADS": "2"})
    assert r["inside"] == [2] and r["during_solve"] == [2]
