"""CuPy GPU backend (experimental): the backend protocol, with cuBLAS products and fused CUDA kernels.

**Experimental, and not certified.** The estimators refuse ``device="cuda"``:
this module still draws SplitMix64 normals without the grid of
:mod:`skunlearn._backends._grid_noise` and uses the GPU's libm, so the
certificate's arithmetic model does not describe it. It keeps the protocol of
:mod:`skunlearn._backends` (``run``, ``warm_up``, ``fill_normals``,
``mlp_loss_gradient``; ``tests/backends/test_backends.py`` compares the signatures
without importing CuPy) until the GPU work ports the grid noise.

Imported only when ``device="cuda"`` (or ``"auto"`` finds a GPU); never at
``import skunlearn``. Each call moves the data to the GPU once, runs every
epoch there and returns numpy parameters, so fitted models pickle and load on
machines without a GPU.

Per step the work is a few launches. Logistic regression uses custom kernels
only (warp-per-row logits with the parameters staged in shared memory, a
deterministic chunked gradient, fused update, noise and projection), so one
epoch of launches is captured into a CUDA graph and replayed for every epoch;
the noise counter lives on the device and the graph advances it, so replays
draw fresh noise. The MLP's matrix products go to cuBLAS through the
low-level binding (CuPy's ``cublas.gemm`` costs ~40 µs a call); CuPy refuses
cuBLAS calls during stream capture, so MLP epochs are launched directly (the
runner tries the capture and falls back).

The noise is the counter-based generator of :mod:`skunlearn._backends._ziggurat`
compiled for the GPU: the same SplitMix64 words and ziggurat, so the GPU draws
the same normals as the CPU (the rare slow path uses the GPU's ``log1p`` and
``exp``, which may differ from the CPU's in the last bit).
"""

from __future__ import annotations

import math

import numpy as np

from .codes import BINARY_LOGISTIC, GRADIENT_CLIPPING, KernelConfig, MLPConfig, NoiseStream, Slots
from ._ziggurat import F_TABLE, K_TABLE, MAX_ATTEMPTS, W_TABLE, ZIGGURAT_R

try:  # the module is imported lazily; a missing CuPy surfaces as this ImportError
    import cupy as cp
    from cupy_backends.cuda.libs import cublas as _cublas_lib
except ImportError as error:  # pragma: no cover - exercised where CuPy is absent
    raise ImportError(
        'device="cuda" needs CuPy and an NVIDIA GPU: pip install "skunlearn[gpu]"'
    ) from error

__all__ = ["fill_normals", "is_available", "mlp_loss_gradient", "run", "run_logistic_epochs", "run_mlp_epochs",
           "warm_up"]

_THREADS = 256


def is_available():
    """Whether CuPy sees a usable GPU."""
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any CUDA error means no usable GPU
        return False


def _table(values, fmt):
    return ",\n".join(", ".join(fmt(v) for v in values[i:i + 4]) for i in range(0, len(values), 4))


_GENERATOR_SOURCE = r"""
#define ZIG_R %(r)r
#define MAX_ATTEMPTS %(attempts)d
__device__ const unsigned long long K_TAB[256] = {%(k)s};
__device__ const double W_TAB[256] = {%(w)s};
__device__ const double F_TAB[256] = {%(f)s};

__device__ __forceinline__ unsigned long long sk_word(unsigned long long key, unsigned long long index,
                                                      unsigned long long j) {
    unsigned long long z = key + 0x9E3779B97F4A7C15ULL * (index * 64ULL + j);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ double sk_uniform(unsigned long long word) {
    return (double)(long long)(word >> 11) * 1.1102230246251565e-16;
}

__device__ double sk_normal(unsigned long long key, unsigned long long index) {
    double value = 0.0;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; ++attempt) {
        unsigned long long word = sk_word(key, index, 3ULL * attempt);
        int layer = (int)(word & 255ULL);
        word >>= 8;
        bool negative = (word & 1ULL) != 0ULL;
        long long magnitude = (long long)((word >> 1) & 0xFFFFFFFFFFFFFULL);
        value = (double)magnitude * W_TAB[layer];
        if (magnitude < (long long)K_TAB[layer]) return negative ? -value : value;
        double u1 = sk_uniform(sk_word(key, index, 3ULL * attempt + 1ULL));
        double u2 = sk_uniform(sk_word(key, index, 3ULL * attempt + 2ULL));
        if (layer == 0) {
            double tail = -log1p(-u1) / ZIG_R;
            value = ZIG_R + tail;
            if (-2.0 * log1p(-u2) > tail * tail) return negative ? -value : value;
        } else {
            double lower = F_TAB[layer];
            if (lower + u1 * (F_TAB[layer - 1] - lower) < exp(-0.5 * value * value)) return negative ? -value : value;
        }
        if (attempt == MAX_ATTEMPTS - 1) return negative ? -value : value;
    }
    return value;
}

extern "C" __global__ void fill_normals(double* out, long long n, unsigned long long key,
                                        unsigned long long start) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = sk_normal(key, start + (unsigned long long)i);
}

extern "C" __global__ void advance_counter(unsigned long long* counter, unsigned long long by) {
    counter[0] += by;
}

__device__ __forceinline__ void block_sum_to(double value, double* target) {
    __shared__ double partial[32];
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffff, value, offset);
    int lane = threadIdx.x %% 32, warp = threadIdx.x / 32;
    if (lane == 0) partial[warp] = value;
    __syncthreads();
    if (warp == 0) {
        value = lane < (blockDim.x + 31) / 32 ? partial[lane] : 0.0;
        for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffff, value, offset);
        if (lane == 0) atomicAdd(target, value);
    }
}
""" % {
    "r": ZIGGURAT_R,
    "attempts": MAX_ATTEMPTS,
    "k": _table([int(v) for v in K_TABLE], lambda v: f"{v}ULL"),
    "w": _table(W_TABLE.tolist(), repr),
    "f": _table(F_TABLE.tolist(), repr),
}

_KERNELS_SOURCE = r"""
// One warp per row: logits theta . x for every output (up to 16 at a time in registers, so
// each lane reads x[j] once per group), then the residual w (dl/dlogit), into r[row, :].
extern "C" __global__ void logistic_logits_residuals_%(T)s(const %(T)s* X, const %(T)s* weights,
        const long long* y, const %(T)s* weight, int rows, int n_features, int n_out, int loss, %(T)s* r,
        int stage_in_shared) {
    // The parameters are read by every row: staged in shared memory when they fit.
    extern __shared__ unsigned char staged_raw[];
    const %(T)s* params = weights;
    if (stage_in_shared) {
        %(T)s* staged = (%(T)s*)staged_raw;
        for (int idx = threadIdx.x; idx < n_out * n_features; idx += blockDim.x) staged[idx] = weights[idx];
        __syncthreads();
        params = staged;
    }
    int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x %% 32;
    if (warp >= rows) return;
    const %(T)s* x = X + (long long)warp * n_features;
    %(T)s* out = r + (long long)warp * n_out;
    for (int group = 0; group < n_out; group += 16) {
        int count = min(16, n_out - group);
        double acc[16];
        #pragma unroll
        for (int k = 0; k < 16; ++k) acc[k] = 0.0;
        // Four x loads in flight per lane before the first use: the loop is latency-bound.
        int j = lane;
        for (; j + 96 < n_features; j += 128) {
            double x0 = (double)x[j], x1 = (double)x[j + 32], x2 = (double)x[j + 64], x3 = (double)x[j + 96];
            #pragma unroll
            for (int k = 0; k < 16; ++k) {
                if (k < count) {
                    const %(T)s* w = params + (long long)(group + k) * n_features + j;
                    acc[k] += x0 * (double)w[0] + x1 * (double)w[32] + x2 * (double)w[64] + x3 * (double)w[96];
                }
            }
        }
        for (; j < n_features; j += 32) {
            double xj = (double)x[j];
            #pragma unroll
            for (int k = 0; k < 16; ++k)
                if (k < count) acc[k] += xj * (double)params[(long long)(group + k) * n_features + j];
        }
        #pragma unroll
        for (int k = 0; k < 16; ++k) {
            double v = acc[k];
            for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffff, v, offset);
            if (lane == 0 && k < count) out[group + k] = (%(T)s)v;
        }
    }
    if (lane != 0) return;
    double row_weight = (double)weight[warp];
    if (loss == 0) {
        double z = (double)out[0];
        double p = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
        out[0] = (%(T)s)(row_weight * (p - (double)y[warp]));
        return;
    }
    double top = -1e300, total = 0.0;
    for (int k = 0; k < n_out; ++k) top = fmax(top, (double)out[k]);
    for (int k = 0; k < n_out; ++k) total += exp((double)out[k] - top);
    for (int k = 0; k < n_out; ++k) {
        double p = exp((double)out[k] - top) / total;
        out[k] = (%(T)s)(row_weight * (p - (k == y[warp] ? 1.0 : 0.0)));
    }
}

// partial[c, k, j] = sum over rows of chunk c of r[i, k] x[i, j]: deterministic, no atomics.
extern "C" __global__ void logistic_gradient_chunks_%(T)s(const %(T)s* X, const %(T)s* r, int rows, int n_features,
        int n_out, int chunk_rows, %(T)s* partial) {
    long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int chunk = blockIdx.y;
    if (p >= (long long)n_out * n_features) return;
    int k = (int)(p / n_features), j = (int)(p %% n_features);
    int lo = chunk * chunk_rows, hi = min(rows, lo + chunk_rows);
    double acc = 0.0;
    for (int i = lo; i < hi; ++i) acc += (double)r[(long long)i * n_out + k] * (double)X[(long long)i * n_features + j];
    partial[(long long)chunk * n_out * n_features + p] = (%(T)s)acc;
}

// theta <- shrink theta - gscale sum_c partial[c] + noise_scale xi; squared norm of the result into *sq.
extern "C" __global__ void chunked_noisy_update_%(T)s(%(T)s* params, const %(T)s* partial, int n_chunks, long long n,
        double shrink, double gscale, double noise_scale, unsigned long long key, const unsigned long long* counter,
        unsigned long long offset, double* sq) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double stored = 0.0;
    if (i < n) {
        double g = 0.0;
        for (int c = 0; c < n_chunks; ++c) g += (double)partial[(long long)c * n + i];
        double value = shrink * (double)params[i] - gscale * g;
        if (noise_scale > 0.0) value += noise_scale * sk_normal(key, counter[0] + offset + (unsigned long long)i);
        %(T)s rounded = (%(T)s)value;
        params[i] = rounded;
        stored = (double)rounded;
    }
    block_sum_to(stored * stored, sq);
}

extern "C" __global__ void project_%(T)s(%(T)s* params, long long n, const double* sq, double radius) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double norm = sqrt(sq[0]);
    if (i < n && norm > radius) params[i] = (%(T)s)((double)params[i] * (radius / norm));
}

extern "C" __global__ void square_sum_%(T)s(const %(T)s* values, long long n, double* sq) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double v = i < n ? (double)values[i] : 0.0;
    block_sum_to(v * v, sq);
}

// MLP pieces ----------------------------------------------------------------------

extern "C" __global__ void bias_activation_%(T)s(%(T)s* values, const %(T)s* bias, long long rows, int n_out,
                                                 int activation) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * n_out) return;
    double v = (double)values[i] + (double)bias[i %% n_out];
    if (activation == 0) v = v > 0 ? v : 0.0;
    else if (activation == 1) v = tanh(v);
    else if (activation == 2) v = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
    values[i] = (%(T)s)v;
}

extern "C" __global__ void softmax_delta_%(T)s(%(T)s* logits, const long long* y, const %(T)s* weight, int rows,
                                               int n_out, const double* inverse_retained) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    %(T)s* row = logits + (long long)i * n_out;
    double top = (double)row[0];
    for (int k = 1; k < n_out; ++k) top = fmax(top, (double)row[k]);
    double total = 0.0;
    for (int k = 0; k < n_out; ++k) total += exp((double)row[k] - top);
    double scale = (double)weight[i] * inverse_retained[0];
    for (int k = 0; k < n_out; ++k) {
        double p = exp((double)row[k] - top) / total;
        row[k] = (%(T)s)(scale * (p - (k == y[i] ? 1.0 : 0.0)));
    }
}

extern "C" __global__ void column_sums_%(T)s(const %(T)s* values, int rows, int n_out, %(T)s* out) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_out) return;
    double total = 0.0;
    for (int i = 0; i < rows; ++i) total += (double)values[(long long)i * n_out + k];
    out[k] = (%(T)s)total;
}

extern "C" __global__ void activation_backward_%(T)s(%(T)s* delta, const %(T)s* activations, long long n,
                                                     int activation) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double a = (double)activations[i];
    double d = (double)delta[i];
    if (activation == 0) d = a > 0 ? d : 0.0;
    else if (activation == 1) d *= 1.0 - a * a;
    else d *= a * (1.0 - a);
    delta[i] = (%(T)s)d;
}

// Model clipping, first half: theta <- theta - lr (g + l2 theta); squared norm into *sq.
extern "C" __global__ void sgd_step_%(T)s(%(T)s* params, const %(T)s* grad, long long n, double lr, double l2,
                                         double* sq) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double stored = 0.0;
    if (i < n) {
        %(T)s rounded = (%(T)s)((double)params[i] - lr * ((double)grad[i] + l2 * (double)params[i]));
        params[i] = rounded;
        stored = (double)rounded;
    }
    block_sum_to(stored * stored, sq);
}

// Model clipping, second half: theta <- clip_R(theta) + noise_std xi.
extern "C" __global__ void clip_noise_%(T)s(%(T)s* params, long long n, const double* sq, double radius,
                                           double noise_std, unsigned long long key,
                                           const unsigned long long* counter, unsigned long long offset) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double norm = sqrt(sq[0]);
    double value = (double)params[i];
    if (norm > radius) value = (double)(%(T)s)(value * (radius / norm));
    if (noise_std > 0.0) value += noise_std * sk_normal(key, counter[0] + offset + (unsigned long long)i);
    params[i] = (%(T)s)value;
}

// Gradient clipping: theta <- (1 - lr l2) theta - lr clip_C(g) + noise_std xi, ||g||^2 in *sq.
extern "C" __global__ void clipped_gradient_step_%(T)s(%(T)s* params, const %(T)s* grad, long long n, double lr,
                                                      double l2, double clip, const double* sq, double noise_std,
                                                      unsigned long long key, const unsigned long long* counter,
                                                      unsigned long long offset) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double norm = sqrt(sq[0]);
    double scale = lr * (norm > 0.0 ? fmin(1.0, clip / norm) : 1.0);
    double value = (%(T)s)((1.0 - lr * l2) * (double)params[i] - scale * (double)grad[i]);
    if (noise_std > 0.0) value += noise_std * sk_normal(key, counter[0] + offset + (unsigned long long)i);
    params[i] = (%(T)s)value;
}
"""

_MODULE = None


def _module():
    global _MODULE
    if _MODULE is None:
        source = _GENERATOR_SOURCE + "".join(_KERNELS_SOURCE % {"T": t} for t in ("float", "double"))
        _MODULE = cp.RawModule(code=source, options=("-std=c++14",))
    return _MODULE


def run(params, slots: Slots, config: KernelConfig | MLPConfig, n_epochs: int, stream: NoiseStream, *,
        n_threads=None, losses=None):
    """The backend protocol's call (:func:`skunlearn._backends.numba.run`); ``n_threads`` is the CPU's and ignored.

    The GPU kernels do not report losses: ``losses``, when given, is filled with NaN.
    """
    if isinstance(config, MLPConfig):
        params, counter = run_mlp_epochs(params, config.layer_sizes, slots.X, slots.y, slots.weight,
                                         slots.batch_bounds, config, stream.key, stream.counter, n_epochs)
    else:
        params, counter = run_logistic_epochs(params, slots.X, slots.y, slots.weight, slots.batch_bounds, config,
                                              stream.key, stream.counter, n_epochs)
    if losses is not None:
        losses[:] = np.nan
    return params, NoiseStream(stream.key, int(counter))


def warm_up():
    """Compile the CUDA module (once per process)."""
    _module()


def _kernel(name, dtype=None):
    if dtype is not None:
        name = f"{name}_{'float' if np.dtype(dtype) == np.float32 else 'double'}"
    return _module().get_function(name)


def _launch(kernel, n, args):
    kernel(((int(n) + _THREADS - 1) // _THREADS,), (_THREADS,), args)


def fill_normals(n, key, start):
    """``n`` normals of ``key`` from index ``start``, drawn on the GPU (numpy array)."""
    out = cp.empty(int(n), dtype=cp.float64)
    _launch(_kernel("fill_normals"), n, (out, np.int64(n), np.uint64(key), np.uint64(start)))
    return cp.asnumpy(out)


class _EpochRunner:
    """Issue one epoch of launches; capture them once into a CUDA graph when possible."""

    def __init__(self, issue_epoch, advance):
        self._issue_epoch = issue_epoch
        self._advance = advance
        self._graph = None

    def run(self, n_epochs):
        stream = cp.cuda.Stream(non_blocking=True)
        with stream:
            if n_epochs > 1:
                try:
                    stream.begin_capture()
                    self._issue_epoch()
                    self._advance()
                    self._graph = stream.end_capture()
                except Exception:  # noqa: BLE001 - capture unsupported here: launch directly
                    if stream.is_capturing():
                        stream.end_capture()
                    self._graph = None
            for _ in range(n_epochs):
                if self._graph is not None:
                    self._graph.launch(stream)
                else:
                    self._issue_epoch()
                    self._advance()
        stream.synchronize()


_ONE = {np.dtype(np.float32): np.ones(1, np.float32), np.dtype(np.float64): np.ones(1, np.float64)}
_ZERO = {np.dtype(np.float32): np.zeros(1, np.float32), np.dtype(np.float64): np.zeros(1, np.float64)}


def _gemm(transa, transb, a, b, out):
    """``out = op(a) @ op(b)`` for C-contiguous arrays, straight through cuBLAS.

    Row-major C is column-major Cᵀ = op(b)ᵀ op(a)ᵀ, so the operands swap; the
    low-level call skips the ~40 µs of CuPy's high-level ``cublas.gemm``.
    """
    m, n = out.shape
    k = a.shape[0] if transa == "T" else a.shape[1]
    handle = cp.cuda.device.get_cublas_handle()
    _cublas_lib.setStream(handle, cp.cuda.get_current_stream().ptr)
    routine = _cublas_lib.sgemm if out.dtype == np.float32 else _cublas_lib.dgemm
    routine(handle, 1 if transb == "T" else 0, 1 if transa == "T" else 0, n, m, k,
            _ONE[out.dtype].ctypes.data, b.data.ptr, b.shape[1], a.data.ptr, a.shape[1],
            _ZERO[out.dtype].ctypes.data, out.data.ptr, n)


def run_logistic_epochs(params, X, y, weight, batch_bounds, config: KernelConfig, noise_key, noise_counter, n_epochs,
                        n_threads=None):
    """GPU twin of :func:`skunlearn._backends.numba.run_logistic_epochs` (same arguments and result;
    ``n_threads``, the CPU's thread count, is ignored; dense X only)."""
    if n_epochs <= 0:
        return params, noise_counter
    if hasattr(X, "tocsr"):  # scipy.sparse: never densified behind the caller's back
        raise TypeError("the GPU backend takes dense X only; sparse (CSR) rows run on the CPU backend")
    dtype = params.dtype
    d_X = cp.asarray(X)
    d_y = cp.asarray(y)
    d_weight = cp.asarray(weight)
    d_params = cp.asarray(params)
    bounds = [int(b) for b in batch_bounds]
    n_out, n_features = params.shape
    n_params = params.size
    n_batches = len(bounds) - 1
    max_rows = max(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    residual = cp.empty((max_rows, n_out), dtype=dtype)
    n_chunks = max(1, min(64, max_rows // 16))
    chunk_rows = -(-max_rows // n_chunks)
    partial = cp.empty((n_chunks, n_out, n_features), dtype=dtype)
    squares = cp.zeros(n_batches, dtype=cp.float64)
    counter = cp.array([noise_counter], dtype=cp.uint64)
    logits, gradient, update, project = (
        _kernel(k, dtype) for k in ("logistic_logits_residuals", "logistic_gradient_chunks", "chunked_noisy_update",
                                    "project"))
    shrink = 1.0 - config.step_size * config.l2
    noise = config.noise_scale
    loss = np.int32(0 if config.loss == BINARY_LOGISTIC else 1)
    staged_bytes = params.nbytes if params.nbytes <= 48 * 1024 else 0

    # Only custom kernels here (no cuBLAS), so an epoch can be captured into a CUDA graph.
    def issue_epoch():
        squares.fill(0)
        for j in range(n_batches):
            start, stop = bounds[j], bounds[j + 1]
            rows = stop - start
            batch = d_X[start:stop]
            logits(((rows * 32 + 255) // 256,), (256,),
                   (batch, d_params, d_y[start:stop], d_weight[start:stop], np.int32(rows), np.int32(n_features),
                    np.int32(n_out), loss, residual, np.int32(staged_bytes > 0)), shared_mem=staged_bytes)
            chunks = -(-rows // chunk_rows)
            gradient(((n_params + 127) // 128, chunks), (128,),
                     (batch, residual, np.int32(rows), np.int32(n_features), np.int32(n_out), np.int32(chunk_rows),
                      partial))
            _launch(update, n_params, (d_params, partial, np.int32(chunks), np.int64(n_params), np.float64(shrink),
                                       np.float64(config.step_size / rows), np.float64(noise), np.uint64(noise_key),
                                       counter, np.uint64(j * n_params), squares[j:j + 1]))
            _launch(project, n_params, (d_params, np.int64(n_params), squares[j:j + 1], np.float64(config.radius)))

    def advance():
        if noise > 0:
            _kernel("advance_counter")((1,), (1,), (counter, np.uint64(n_batches * n_params)))

    _EpochRunner(issue_epoch, advance).run(int(n_epochs))
    drawn = n_epochs * n_batches * n_params if noise > 0 else 0
    return cp.asnumpy(d_params).reshape(params.shape), noise_counter + drawn


def _layer_views(flat, sizes):
    views, offset = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = flat[offset:offset + n_in * n_out].reshape(n_in, n_out)
        b = flat[offset + n_in * n_out:offset + n_in * n_out + n_out]
        views.append((W, b))
        offset += n_in * n_out + n_out
    return views


class _MLPStep:
    """Preallocated buffers and the launches of one MLP mini-batch gradient."""

    def __init__(self, d_params, sizes, dtype, max_rows, activation):
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.dtype = dtype
        self.gradient = cp.zeros_like(d_params)
        self.param_views = _layer_views(d_params, self.sizes)
        self.grad_views = _layer_views(self.gradient, self.sizes)
        self.activations = [cp.empty((max_rows, n), dtype=dtype) for n in self.sizes[1:]]
        widest = max(self.sizes)
        self.scratch = [cp.empty(max_rows * widest, dtype=dtype) for _ in range(2)]
        self.bias_act = _kernel("bias_activation", dtype)
        self.delta_kernel = _kernel("softmax_delta", dtype)
        self.colsum = _kernel("column_sums", dtype)
        self.backward = _kernel("activation_backward", dtype)

    def issue(self, batch, y, weight, inverse_retained):
        rows = batch.shape[0]
        n_layers = len(self.sizes) - 1
        previous = batch
        outs = []
        for layer, (W, b) in enumerate(self.param_views):
            out = self.activations[layer][:rows]
            _gemm("N", "N", previous, W, out)
            act = self.activation if layer < n_layers - 1 else -1
            _launch(self.bias_act, out.size, (out, b, np.int64(rows), np.int32(out.shape[1]), np.int32(act)))
            outs.append(out)
            previous = out
        delta = outs[-1]
        _launch(self.delta_kernel, rows, (delta, y, weight, np.int32(rows), np.int32(self.sizes[-1]),
                                          inverse_retained))
        for layer in range(n_layers - 1, -1, -1):
            inputs = batch if layer == 0 else outs[layer - 1]
            grad_W, grad_b = self.grad_views[layer]
            _gemm("T", "N", inputs, delta, grad_W)
            _launch(self.colsum, delta.shape[1], (delta, np.int32(rows), np.int32(delta.shape[1]), grad_b))
            if layer > 0:
                W, _ = self.param_views[layer]
                scratch = self.scratch[layer % 2][:rows * W.shape[0]].reshape(rows, W.shape[0])
                _gemm("N", "T", delta, W, scratch)
                _launch(self.backward, scratch.size, (scratch, inputs, np.int64(scratch.size),
                                                      np.int32(self.activation)))
                delta = scratch


def run_mlp_epochs(params, layer_sizes, X, y, weight, batch_bounds, config: MLPConfig, noise_key, noise_counter,
                   n_epochs):
    """GPU twin of :func:`skunlearn._backends.numba.run_mlp_epochs` (same arguments and result)."""
    if n_epochs <= 0:
        return params, noise_counter
    dtype = params.dtype
    d_X, d_y, d_weight = cp.asarray(X), cp.asarray(y), cp.asarray(weight)
    d_params = cp.asarray(params)
    bounds = [int(b) for b in batch_bounds]
    n_batches = len(bounds) - 1
    n_params = params.size
    max_rows = max(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    retained = np.array([float(weight[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:])])
    inverse_retained = cp.asarray(np.where(retained > 0, 1.0 / np.maximum(retained, 1e-300), 0.0))
    step = _MLPStep(d_params, layer_sizes, dtype, max_rows, config.activation)
    squares = cp.zeros(n_batches, dtype=cp.float64)
    counter = cp.array([noise_counter], dtype=cp.uint64)
    gradient_clipping = config.update == GRADIENT_CLIPPING
    if gradient_clipping:
        square_sum, update = _kernel("square_sum", dtype), _kernel("clipped_gradient_step", dtype)
    else:
        sgd, clip_noise = _kernel("sgd_step", dtype), _kernel("clip_noise", dtype)
    noise = float(config.noise_std)

    def issue_epoch():
        squares.fill(0)
        for j in range(n_batches):
            start, stop = bounds[j], bounds[j + 1]
            if retained[j] == 0:
                step.gradient.fill(0)
            else:
                step.issue(d_X[start:stop], d_y[start:stop], d_weight[start:stop], inverse_retained[j:j + 1])
            offset = np.uint64(j * n_params)
            if gradient_clipping:
                _launch(square_sum, n_params, (step.gradient, np.int64(n_params), squares[j:j + 1]))
                _launch(update, n_params, (d_params, step.gradient, np.int64(n_params), np.float64(config.step_size),
                                           np.float64(config.l2), np.float64(config.gradient_clip),
                                           squares[j:j + 1], np.float64(noise), np.uint64(noise_key), counter,
                                           offset))
            else:
                _launch(sgd, n_params, (d_params, step.gradient, np.int64(n_params), np.float64(config.step_size),
                                        np.float64(config.l2), squares[j:j + 1]))
                _launch(clip_noise, n_params, (d_params, np.int64(n_params), squares[j:j + 1],
                                               np.float64(config.radius), np.float64(noise), np.uint64(noise_key),
                                               counter, offset))

    def advance():
        if noise > 0:
            _kernel("advance_counter")((1,), (1,), (counter, np.uint64(n_batches * n_params)))

    _EpochRunner(issue_epoch, advance).run(int(n_epochs))
    drawn = n_epochs * n_batches * n_params if noise > 0 else 0
    return cp.asnumpy(d_params), noise_counter + drawn


def mlp_loss_gradient(params, layer_sizes, X, y, weight, activation):
    """The mean-gradient routine of :func:`run_mlp_epochs` on one batch (loss not computed: NaN)."""
    d_params = cp.asarray(params)
    step = _MLPStep(d_params, layer_sizes, params.dtype, X.shape[0], activation)
    retained = float(np.sum(weight))
    inverse = cp.asarray([1.0 / retained if retained > 0 else 0.0])
    step.issue(cp.asarray(X), cp.asarray(y), cp.asarray(weight), inverse)
    return math.nan, cp.asnumpy(step.gradient)
