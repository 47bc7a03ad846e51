"""Shared helpers of the benchmark scripts: timing, bandwidth, the table and the verdict."""

from __future__ import annotations

import os
import time

import numpy as np


def best_time(function, repeat=3):
    """Best wall time of ``repeat`` calls (after the caller's warm-up)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


#: Pause before each timed call of an interleaved comparison (seconds). OpenBLAS's worker threads spin for
#: about 0.1 s after a multi-threaded call before they sleep; a numba kernel started inside that window shares
#: the cores with them (measured: a 2-thread logistic epoch took 104 ms right after a numpy matmul, 54 ms after
#: a 0.5 s pause). The pause lets every contender start on idle cores.
SETTLE_SECONDS = 0.3


def interleaved_best_times(functions, rounds=3):
    """Best wall time of each function over ``rounds`` rounds that call them in turn.

    Interleaving puts every contender under the same background load, so a busy
    moment on a shared machine does not land on one side of a ratio only; a
    short pause before each call (:data:`SETTLE_SECONDS`) keeps one contender's
    spinning BLAS threads out of the next one's time.
    """
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for i, function in enumerate(functions):
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            function()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def memory_bandwidth(n_bytes=512 * 2**20, repeat=5):
    """Measured read bandwidth in bytes/s: summing a large float32 array."""
    data = np.ones(n_bytes // 4, dtype=np.float32)
    data.sum()
    return n_bytes / best_time(data.sum, repeat)


def synthetic_mnist(n_samples=60_000, n_features=784, n_classes=10, seed=0, dtype=np.float32, separation=1.0):
    """An MNIST-shaped classification problem: class means (scaled by ``separation``) plus noise."""
    rng = np.random.default_rng(seed)
    means = (separation * rng.standard_normal((n_classes, n_features))).astype(dtype)
    y = rng.integers(0, n_classes, n_samples)
    X = np.empty((n_samples, n_features), dtype=dtype)
    for start in range(0, n_samples, 4096):  # in chunks: no temporary as large as X
        block = X[start:start + 4096]
        rng.standard_normal(block.shape, dtype=dtype, out=block)
        block *= 3.0
        block += means[y[start:start + 4096]]
    return X, y


#: Variables some machines set to force older OpenBLAS kernels; users' machines do not.
FORCED_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_line():
    """The BLAS library, kernel architecture and threads numpy runs (threadpoolctl), with a warning when forced."""
    from threadpoolctl import threadpool_info

    pools = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, {p.get('num_threads')} threads)"
             for p in threadpool_info() if p.get("user_api") == "blas"]
    line = "BLAS: " + ("; ".join(pools) or "none found")
    forced = [f"{name}={os.environ[name]}" for name in FORCED_BLAS_VARIABLES if name in os.environ]
    if forced:
        line += (f"\nWARNING: {', '.join(forced)} forces an older kernel than users get; run through "
                 "`python -m benchmarks` (which unsets them) for figures as users see them")
    return line


def machine_line():
    return (f"machine: {os.cpu_count()} cores, memory bandwidth {memory_bandwidth() / 1e9:.1f} GB/s (measured)\n"
            f"{blas_line()}")


def report(rows, goals):
    """Print the table and the goals; return the exit status (1 when a goal is missed)."""
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print()
    status = 0
    for description, ratio, target in goals:
        ok = ratio >= target
        status |= not ok
        print(f"  [{'ok' if ok else 'MISSED'}] {description}: {ratio:.2f}x (goal >= {target:g}x)")
    return status


def grid_for(noise_scale, value_bound):
    """The kernels' noise grid for a benchmark's own config (the estimators take theirs from the ledger)."""
    from skunlearn.accounting import noise_grid

    return noise_grid(2.0 * value_bound + 21.0 * noise_scale, noise_scale) if noise_scale > 0 else 0.0


def draw_keystream(buffer):
    """Fill ``buffer`` (uint64) with ChaCha20 keystream words, one thread: the bits alone, one word per normal.

    The grid sampler's fast path reads one 64-bit word per normal, so this is
    the part of a normal's cost that no sampler can remove.
    """
    from numba import njit

    from skunlearn._backends._grid_noise import LANES, _keystream, kernel_key

    global _keystream_fill
    if _keystream_fill is None:
        @njit(cache=False)
        def fill(out, key):
            words = np.empty(8 * LANES, dtype=np.uint64)
            counters = np.empty(LANES, dtype=np.uint64)
            for start in range(0, out.size - 8 * LANES + 1, 8 * LANES):
                for lane in range(LANES):
                    counters[lane] = np.uint64(start // 8 + lane)
                _keystream(key, counters, np.uint64(0), words)
                out[start:start + 8 * LANES] = words

        _keystream_fill = fill
    _keystream_fill(buffer, kernel_key(1, "chacha20"))


_keystream_fill = None


def draw_normals(buffer, core="chacha20"):
    """Fill ``buffer`` with the kernels' grid noise (σ' = 1.5 · 2²⁴, the kernels' range), one thread."""
    from skunlearn._backends._grid_noise import kernel_key
    from skunlearn._backends.numba import fill_normals

    return fill_normals(buffer, kernel_key(1, core), 0, 1.5 * 2.0**24, 1.0)
