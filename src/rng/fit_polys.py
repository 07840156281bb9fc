#!/usr/bin/env python3
"""Fits the polynomials of the normal generator (src/real/lanes.rs).

Box-Muller as smile computes it needs three functions on small ranges:

* ln m = 2s + s z P(z),        s = (m-1)/(m+1), z = s^2, m in [sqrt(1/2), sqrt(2)),
                               so z <= ((sqrt2-1)/(sqrt2+1))^2 = 0.0294;
* sin p = p + p z S(z),        z = p^2, |p| <= pi/4;
* cos p = 1 - z/2 + z^2 C(z),  z = p^2, |p| <= pi/4.

Each of P, S, C is fitted in 50-digit arithmetic (mpmath) by weighted least
squares on Chebyshev nodes, reweighted iteratively (Lawson's algorithm)
towards the minimax solution. The weight makes "weight x error" the error of
the final value relative to its size: z/2 for ln (relative error of ln m),
z for sin, z^2 for cos (cos >= 0.707, so absolute ~ relative). The degree per
precision is the lowest whose fitted error is far below half an ulp
(2^-53 ~ 1.1e-16 for f64, 2^-24 ~ 6e-8 for f32): f64 ln 6, sin 5, cos 5;
f32 2, 2, 2. Prints the coefficients in ascending powers of z.

Needs mpmath; run: python3 src/rng/fit_polys.py (about a minute).
"""

import mpmath as mp

mp.mp.dps = 50


def fit(f, hi, deg, weight, nodes=400, iters=60):
    xs = [hi / 2 + hi / 2 * mp.cos(mp.pi * (k + mp.mpf(1) / 2) / nodes) for k in range(nodes)]
    w = [mp.mpf(1)] * nodes
    for _ in range(iters):
        a = mp.matrix(nodes, deg + 1)
        y = mp.matrix(nodes, 1)
        for i, x in enumerate(xs):
            sw = mp.sqrt(w[i]) * weight(x)
            for j in range(deg + 1):
                a[i, j] = sw * x**j
            y[i] = sw * f(x)
        c = mp.lu_solve(a.T * a, a.T * y)
        errs = [abs(weight(x) * (sum(c[j] * x**j for j in range(deg + 1)) - f(x))) for x in xs]
        tot = sum(w[i] * errs[i] for i in range(nodes))
        w = [w[i] * errs[i] / tot * nodes for i in range(nodes)]
    return [c[j] for j in range(deg + 1)], max(errs)


def p_ln(z):
    if z == 0:
        return mp.mpf(2) / 3
    r = mp.sqrt(z)
    return (2 * mp.atanh(r) / r - 2) / z


def s_sin(z):
    if z == 0:
        return -mp.mpf(1) / 6
    r = mp.sqrt(z)
    return (mp.sin(r) / r - 1) / z


def c_cos(z):
    if z == 0:
        return mp.mpf(1) / 24
    r = mp.sqrt(z)
    return (mp.cos(r) - 1 + z / 2) / z**2


Z_LN = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)) ** 2
Z_TRIG = (mp.pi / 4) ** 2
FUNCS = {"LN": (p_ln, Z_LN, lambda z: z / 2), "SIN": (s_sin, Z_TRIG, lambda z: z), "COS": (c_cos, Z_TRIG, lambda z: z * z)}
DEGREES = {"f64": {"LN": 6, "SIN": 5, "COS": 5}, "f32": {"LN": 2, "SIN": 2, "COS": 2}}

if __name__ == "__main__":
    for prec, degs in DEGREES.items():
        for name, deg in degs.items():
            f, hi, wt = FUNCS[name]
            c, err = fit(f, hi, deg, wt)
            print(f"{prec} {name} (degree {deg}, weighted error {mp.nstr(err, 3)}):")
            print("    " + ", ".join(mp.nstr(x, 20) for x in c))
