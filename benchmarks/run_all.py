"""The benchmark report: every script in one run, the machine described first.

Runs bench_logistic, bench_scaling, bench_sparse, bench_mlp, bench_generator, bench_unlearning, bench_bounds,
bench_defaults, bench_stream, bench_random_features, bench_d2d, bench_mlp_payoff, bench_audit, bench_budget and
bench_scale (and bench_gpu when CuPy sees a GPU), each in its own process, prints their tables and a
summary, and exits non-zero when any goal was missed. Not here: bench_mlp_long (5 seeds of 60-epoch fits
and retrainings; run it alone).

Run: ``python -m benchmarks`` or ``python benchmarks/run_all.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks._common import FORCED_BLAS_VARIABLES, machine_line  # noqa: E402

SCRIPTS = ["bench_logistic.py", "bench_scaling.py", "bench_sparse.py", "bench_mlp.py", "bench_generator.py",
           "bench_unlearning.py", "bench_bounds.py", "bench_defaults.py", "bench_stream.py",
           "bench_random_features.py", "bench_d2d.py", "bench_mlp_payoff.py", "bench_audit.py", "bench_budget.py",
           "bench_scale.py"]


def _gpu_usable():
    code = "import cupy; assert cupy.cuda.runtime.getDeviceCount() > 0"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script that has it")
    args = parser.parse_args(argv)
    import platform

    print(f"skunlearn benchmark report — {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(machine_line())
    scripts = SCRIPTS + (["bench_gpu.py"] if _gpu_usable() else [])
    results = []
    for script in scripts:
        command = [sys.executable, os.path.join(ROOT, "benchmarks", script)]
        if args.quick and script == "bench_stream.py":
            command += ["--requests", "200"]
        elif args.quick and script != "bench_bounds.py":
            command.append("--quick")
        print(f"\n=== {script} " + "=" * (70 - len(script)))
        sys.stdout.flush()
        start = time.perf_counter()
        # Children run as users run them: without the variables that force older OpenBLAS kernels.
        environment = {k: v for k, v in os.environ.items() if k not in FORCED_BLAS_VARIABLES}
        status = subprocess.run(command, cwd=ROOT, env=environment).returncode
        results.append((script, status, time.perf_counter() - start))
    print("\n=== summary " + "=" * 60)
    for script, status, seconds in results:
        print(f"  {script:<22} {'ok' if status == 0 else 'GOAL MISSED' if status == 1 else f'exit {status}':<12} "
              f"{seconds:6.1f} s")
    total = sum(seconds for _, _, seconds in results)
    print(f"  {'total':<22} {'':<12} {total:6.1f} s")
    return 0 if all(status == 0 for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
