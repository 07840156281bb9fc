#!/usr/bin/env python3
"""BlackJAX MCLMC vs smile, side by side on the same machine.

Runs BlackJAX's MCLMC (``blackjax.mclmc``: isokinetic integrator + partial
refresh, L = sqrt(d), eps = 0.05 sqrt(d)) on the standard Gaussian
(``logp = -|x|^2/2``, gradient by JAX inside the jitted step) for each
requested dimension, dtype and integrator, jit-compiled with ``lax.scan``
over the steps, timed after a warm-up call (compile time excluded) with
``block_until_ready``, best of ``--repeats``. Then runs smile's report
command (``cargo run --release --example perf_report -- --only ...``) for
the same configurations and prints ns/step of both and the speed-up.
(smile's target adds a mini-batch-like noise to the log density, see
``benches/harness/mod.rs``; MCLMC's dynamics do not read it, and it costs
a few ns per step, small against the speed-ups at the d compared here.)

Installs nothing: run it with a Python that has jax and blackjax, e.g.
``python3 benches/compare_blackjax.py`` (defaults: f32, McLachlan and
velocity Verlet, d = 100, 1000, 1000000).
"""

import argparse
import math
import os
import re
import subprocess
import sys
import time


def blackjax_ns_per_step(d, dtype, integrator, steps, repeats):
    import jax
    import jax.numpy as jnp
    import blackjax

    if dtype == "f64":
        jax.config.update("jax_enable_x64", True)
    jdt = jnp.float32 if dtype == "f32" else jnp.float64
    integ = {
        "mclachlan": blackjax.mcmc.integrators.isokinetic_mclachlan,
        "velocity_verlet": blackjax.mcmc.integrators.isokinetic_velocity_verlet,
    }[integrator]

    def logdensity(x):
        return -0.5 * jnp.sum(x * x)

    sd = math.sqrt(d)
    alg = blackjax.mclmc(logdensity, L=jnp.asarray(sd, jdt), step_size=jnp.asarray(0.05 * sd, jdt), integrator=integ)
    key = jax.random.key(0)
    state = alg.init(jnp.ones(d, jdt), key)

    @jax.jit
    def run(state, key):
        keys = jax.random.split(key, steps)

        def body(s, k):
            s, _ = alg.step(k, s)
            return s, None

        s, _ = jax.lax.scan(body, state, keys)
        return s

    out = run(state, jax.random.key(1))  # compile + warm-up
    jax.block_until_ready(out)
    assert out.position.dtype == jdt, f"BlackJAX ran in {out.position.dtype}, wanted {jdt}"
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        out = run(out, jax.random.key(2 + r))
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - t0) / steps * 1e9)
    return best


def smile_ns_per_step(repo, d, dtype, integrator, cache):
    key = (d, dtype, integrator)
    if key in cache:
        return cache[key]
    cmd = ["cargo", "run", "--quiet", "--release", "--example", "perf_report", "--", "--dims", str(d), "--only", f"mclmc {integrator} {dtype} {d}"]
    out = subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        if line.startswith("perf sampler=mclmc ") and m.get("dim") == str(d) and m.get("dtype") == dtype and m.get("integrator") == integrator:
            cache[key] = (float(m["ns_per_step"]), float(m["floor_ratio"]))
            return cache[key]
    raise RuntimeError(f"no perf line for {key} in:\n{out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", default="100,1000,1000000")
    ap.add_argument("--dtypes", default="f32")
    ap.add_argument("--integrators", default="mclachlan,velocity_verlet")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import jax
    import blackjax

    print(f"# blackjax {blackjax.__version__}, jax {jax.__version__}, device {jax.devices()[0].platform}; {time.strftime('%Y-%m-%d')}")
    print(f"{'integrator':16} {'dtype':5} {'dim':>8} {'blackjax ns/step':>17} {'smile ns/step':>14} {'speed-up':>9} {'smile floor_ratio':>18}")
    cache = {}
    for dtype in args.dtypes.split(","):
        for integ in args.integrators.split(","):
            for d in [int(float(x)) for x in args.dims.split(",")]:
                # Enough steps for ~0.2 s per timed call, at least 10.
                steps = max(10, min(20000, int(2e8 / (d * 25 + 2e4))))
                bj = blackjax_ns_per_step(d, dtype, integ, steps, args.repeats)
                sm, ratio = smile_ns_per_step(repo, d, dtype, integ, cache)
                print(f"{integ:16} {dtype:5} {d:>8} {bj:>17.1f} {sm:>14.1f} {bj / sm:>8.1f}x {ratio:>18.3f}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
