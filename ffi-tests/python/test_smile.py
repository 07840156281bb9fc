"""Drives smile's C ABI from Python through ctypes (standard library only, no
numpy): version, ask/tell and callback sampling, checkpoints, bad input, and
a replay of every `isokinetic_trajectory` golden file (BlackJAX reference
trajectories) found in $SMILE_GOLDEN_DIR (default: ../shared/golden next to
the repository).

    SMILE_LIB=/prefix/lib/libsmile.so python3 test_smile.py -v
"""

import ctypes
import ctypes.util
import glob
import json
import math
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

lib = ctypes.CDLL(os.environ.get("SMILE_LIB") or ctypes.util.find_library("smile") or "libsmile.so")

c_double_p = ctypes.POINTER(ctypes.c_double)
SIZE_T = ctypes.c_size_t

# status codes and enums (include/smile.h)
OK, NULL_POINTER, DIMENSION_TOO_SMALL, BUFFER_LENGTH, INVALID_STEP_SIZE = 0, 1, 2, 3, 4
INVALID_SETTING, OUT_OF_ORDER, INVALID_VALUE, STRUCT_SIZE, NOT_AN_INSTANCE = 6, 7, 9, 32, 34
INITIALIZED, NEED_EVAL, STEP_DONE = 0, 1, 2
INTEGRATORS = {"velocity_verlet": 0, "mclachlan": 1, "yoshida": 2, "omelyan": 3}


class Config(ctypes.Structure):
    _fields_ = [("struct_size", SIZE_T), ("step_size", ctypes.c_double),
                ("decoherence_length", ctypes.c_double), ("max_energy_change", ctypes.c_double),
                ("integrator", ctypes.c_uint32)]


class Request(ctypes.Structure):
    _fields_ = [("x", c_double_p), ("grad", c_double_p), ("dim", SIZE_T),
                ("step", ctypes.c_uint64), ("stage", ctypes.c_uint32), ("kind", ctypes.c_uint32)]


class StepInfo(ctypes.Structure):
    _fields_ = [("step", ctypes.c_uint64), ("grad_evals", ctypes.c_uint64),
                ("divergences", ctypes.c_uint64), ("energy_change", ctypes.c_double),
                ("kinetic_change", ctypes.c_double), ("logdensity", ctypes.c_double),
                ("step_size", ctypes.c_double), ("divergence", ctypes.c_uint32)]


class SmileConfig(ctypes.Structure):
    _fields_ = [("struct_size", SIZE_T)] + [(n, ctypes.c_double) for n in (
        "step_size", "reset_prob", "adaption_prob", "adaption_strength", "smoothing_factor",
        "decoherence_length", "grad_clip")] + [(n, ctypes.c_uint32) for n in (
        "integrator", "precondition", "mode", "zero_nan_gradients")]


class SmileStepInfo(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("step", "grad_evals", "divergences", "resets", "flagged_gradients")] + \
        [(n, ctypes.c_double) for n in ("energy_change", "abs_energy_change", "kinetic_change", "logdensity",
                                        "step_size", "next_step_size", "energy_mean", "energy_std")] + \
        [("divergence", ctypes.c_uint32), ("reset", ctypes.c_uint32), ("step_size_change", ctypes.c_int32)]


LOGDENSITY = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, SIZE_T, c_double_p, c_double_p, c_double_p)

P = ctypes.c_void_p
for name, args in {
    "smile_mclmc_config_default_f64": [ctypes.POINTER(Config), SIZE_T, SIZE_T],
    "smile_mclmc_memory_size_f64": [SIZE_T, ctypes.POINTER(Config), ctypes.POINTER(SIZE_T), ctypes.POINTER(SIZE_T)],
    "smile_mclmc_init_f64": [P, SIZE_T, SIZE_T, ctypes.POINTER(Config), c_double_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(P)],
    "smile_mclmc_ask_f64": [P, ctypes.POINTER(Request)],
    "smile_mclmc_tell_f64": [P, ctypes.c_double, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(StepInfo)],
    "smile_mclmc_step_f64": [P, LOGDENSITY, P, ctypes.POINTER(StepInfo)],
    "smile_mclmc_save_f64": [P, P, SIZE_T],
    "smile_mclmc_restore_f64": [P, SIZE_T, P, SIZE_T, ctypes.POINTER(P)],
    "smile_mclmc_position_f64": [P, c_double_p, SIZE_T],
    "smile_mclmc_momentum_f64": [P, c_double_p, SIZE_T],
    "smile_mclmc_set_config_f64": [P, ctypes.POINTER(Config)],
    "smile_mclmc_set_momentum_f64": [P, c_double_p, SIZE_T],
    "smile_mclmc_set_preconditioner_f64": [P, c_double_p, SIZE_T],
    "smile_smile_config_default_f64": [ctypes.c_void_p, SIZE_T, ctypes.c_uint32, ctypes.c_double],
    "smile_smile_memory_size_f64": [SIZE_T, ctypes.c_void_p, ctypes.POINTER(SIZE_T), ctypes.POINTER(SIZE_T)],
    "smile_smile_init_f64": [P, SIZE_T, SIZE_T, ctypes.c_void_p, c_double_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(P)],
    "smile_smile_ask_f64": [P, ctypes.POINTER(Request)],
    "smile_smile_tell_f64": [P, ctypes.c_double, ctypes.POINTER(ctypes.c_int), ctypes.c_void_p],
    "smile_smile_position_f64": [P, c_double_p, SIZE_T],
    "smile_smile_step_size_f64": [P, c_double_p],
}.items():
    fn = getattr(lib, name)
    fn.argtypes = args
    fn.restype = ctypes.c_int
lib.smile_status_str.argtypes = [ctypes.c_int]
lib.smile_status_str.restype = ctypes.c_char_p
lib.smile_version.restype = ctypes.c_char_p
lib.smile_version_number.restype = ctypes.c_uint32


def vec(values):
    return (ctypes.c_double * len(values))(*values)


class Chain:
    """An MCLMC chain in memory owned by Python (8-byte aligned doubles)."""

    def __init__(self, x0, seed=1, stream=0, **settings):
        d = len(x0)
        self.d = d
        self.cfg = Config()
        check(lib.smile_mclmc_config_default_f64(ctypes.byref(self.cfg), ctypes.sizeof(Config), d))
        for k, v in settings.items():
            setattr(self.cfg, k, v)
        size, align = SIZE_T(), SIZE_T()
        check(lib.smile_mclmc_memory_size_f64(d, None, ctypes.byref(size), ctypes.byref(align)))
        self.size = size.value
        self.mem = (ctypes.c_double * ((self.size + 7) // 8))()
        self.h = P()
        check(lib.smile_mclmc_init_f64(self.mem, self.size, d, ctypes.byref(self.cfg), vec(x0),
                                       seed, stream, ctypes.byref(self.h)))

    def step_ask_tell(self, logp):
        req, progress, info = Request(), ctypes.c_int(), StepInfo()
        while True:
            check(lib.smile_mclmc_ask_f64(self.h, ctypes.byref(req)))
            x = [req.x[i] for i in range(self.d)]
            value, grad = logp(x)
            for i, g in enumerate(grad):
                req.grad[i] = g
            check(lib.smile_mclmc_tell_f64(self.h, value, ctypes.byref(progress), ctypes.byref(info)))
            if progress.value == STEP_DONE:
                return info

    def position(self):
        out = (ctypes.c_double * self.d)()
        check(lib.smile_mclmc_position_f64(self.h, out, self.d))
        return list(out)


def check(status):
    if status != OK:
        raise RuntimeError("smile status %d: %s" % (status, lib.smile_status_str(status).decode()))


def gauss(x):
    return -0.5 * sum(v * v for v in x), [-v for v in x]


class Api(unittest.TestCase):
    def test_version(self):
        v = lib.smile_version().decode()
        major, minor, patch = (int(p) for p in v.split("."))
        self.assertEqual(lib.smile_version_number(), major * 10000 + minor * 100 + patch)
        self.assertEqual(lib.smile_status_str(0).decode(), "success")
        self.assertIn("unknown", lib.smile_status_str(999).decode())

    def test_ask_tell_moments(self):
        chain = Chain([1.0, -1.0, 0.5, 2.0], seed=5, step_size=1.0)
        n, s, s2 = 6000, [0.0] * 4, [0.0] * 4
        for _ in range(n):
            info = chain.step_ask_tell(gauss)
            for i, v in enumerate(chain.position()):
                s[i] += v
                s2[i] += v * v
        self.assertEqual(info.step, n)
        self.assertEqual(info.divergences, 0)
        for i in range(4):
            m = s[i] / n
            self.assertLess(abs(m), 0.15)
            self.assertLess(abs(s2[i] / n - m * m - 1), 0.25)

    def test_callback_equals_ask_tell(self):
        @LOGDENSITY
        def cb(user, dim, x, grad, logp):
            value, g = gauss([x[i] for i in range(dim)])
            for i in range(dim):
                grad[i] = g[i]
            logp[0] = value
            return 0

        a, b = Chain([0.3, 0.2, 0.1], seed=9), Chain([0.3, 0.2, 0.1], seed=9)
        info = StepInfo()
        for _ in range(100):
            check(lib.smile_mclmc_step_f64(a.h, cb, None, ctypes.byref(info)))
            b.step_ask_tell(gauss)
            self.assertEqual(a.position(), b.position())

    def test_checkpoint(self):
        a = Chain([1.0, 2.0], seed=3)
        for _ in range(20):
            a.step_ask_tell(gauss)
        buf = ctypes.create_string_buffer(a.size)
        check(lib.smile_mclmc_save_f64(a.h, buf, a.size))
        mem = (ctypes.c_double * ((a.size + 7) // 8))()
        h = P()
        check(lib.smile_mclmc_restore_f64(mem, a.size, buf, a.size, ctypes.byref(h)))
        b = Chain.__new__(Chain)
        b.d, b.h, b.mem = 2, h, mem
        for _ in range(20):
            a.step_ask_tell(gauss)
            b.step_ask_tell(gauss)
            self.assertEqual(a.position(), b.position())
        self.assertEqual(lib.smile_mclmc_restore_f64(mem, a.size, buf, a.size - 1, ctypes.byref(h)), BUFFER_LENGTH)

    def test_bad_input(self):
        cfg, size, align, h = Config(), SIZE_T(), SIZE_T(), P()
        self.assertEqual(lib.smile_mclmc_config_default_f64(None, ctypes.sizeof(Config), 3), NULL_POINTER)
        self.assertEqual(lib.smile_mclmc_config_default_f64(ctypes.byref(cfg), 7, 3), STRUCT_SIZE)
        self.assertEqual(lib.smile_mclmc_config_default_f64(ctypes.byref(cfg), ctypes.sizeof(Config), 1),
                         DIMENSION_TOO_SMALL)
        self.assertEqual(lib.smile_mclmc_memory_size_f64(1, None, ctypes.byref(size), ctypes.byref(align)),
                         DIMENSION_TOO_SMALL)
        check(lib.smile_mclmc_memory_size_f64(3, None, ctypes.byref(size), ctypes.byref(align)))
        mem = (ctypes.c_double * (size.value // 8))()
        x0 = vec([0.0, 0.0, 0.0])
        check(lib.smile_mclmc_config_default_f64(ctypes.byref(cfg), ctypes.sizeof(Config), 3))
        cfg.step_size = float("nan")
        self.assertEqual(lib.smile_mclmc_init_f64(mem, size.value, 3, ctypes.byref(cfg), x0, 1, 0, ctypes.byref(h)),
                         INVALID_STEP_SIZE)
        cfg.step_size, cfg.integrator = 0.5, 17
        self.assertEqual(lib.smile_mclmc_init_f64(mem, size.value, 3, ctypes.byref(cfg), x0, 1, 0, ctypes.byref(h)),
                         INVALID_SETTING)
        self.assertEqual(lib.smile_mclmc_init_f64(mem, size.value - 8, 3, None, x0, 1, 0, ctypes.byref(h)),
                         BUFFER_LENGTH)
        self.assertEqual(lib.smile_mclmc_init_f64(mem, size.value, 3, None, None, 1, 0, ctypes.byref(h)), NULL_POINTER)
        self.assertEqual(lib.smile_mclmc_position_f64(mem, vec([0, 0, 0]), 3), NOT_AN_INSTANCE)
        check(lib.smile_mclmc_init_f64(mem, size.value, 3, None, x0, 1, 0, ctypes.byref(h)))
        self.assertEqual(lib.smile_mclmc_position_f64(h, vec([0, 0]), 2), BUFFER_LENGTH)
        self.assertEqual(lib.smile_mclmc_set_momentum_f64(h, vec([0, 0, 0]), 3), INVALID_VALUE)
        progress, info, req = ctypes.c_int(), StepInfo(), Request()
        self.assertEqual(lib.smile_mclmc_tell_f64(h, 0.0, ctypes.byref(progress), ctypes.byref(info)), OUT_OF_ORDER)
        check(lib.smile_mclmc_ask_f64(h, ctypes.byref(req)))
        check(lib.smile_mclmc_tell_f64(h, 0.0, ctypes.byref(progress), ctypes.byref(info)))
        self.assertEqual(progress.value, INITIALIZED)
        self.assertEqual(lib.smile_mclmc_tell_f64(h, 0.0, ctypes.byref(progress), ctypes.byref(info)), OUT_OF_ORDER)


class Smile(unittest.TestCase):
    """SMILE driven by ask/tell from Python on mini-batches of a conjugate
    model: y_ij ~ N(theta_j, 1), N = 200, prior N(0, 1), batches of 50, a new
    batch whenever the request's step changes."""

    def test_minibatch_posterior(self):
        import random
        rnd = random.Random(3)
        n, b, d, steps = 200, 50, 2, 6000
        y = [[j + rnd.gauss(0, 1) for j in range(d)] for _ in range(n)]
        post = [sum(r[j] for r in y) / (n + 1) for j in range(d)]
        cfg = SmileConfig()
        self.assertEqual(lib.smile_smile_config_default_f64(ctypes.byref(cfg), ctypes.sizeof(cfg), 7, 0.01),
                         INVALID_SETTING)  # unknown preset
        self.assertEqual(lib.smile_smile_config_default_f64(ctypes.byref(cfg), ctypes.sizeof(cfg) - 8, 0, 0.01),
                         STRUCT_SIZE)
        check(lib.smile_smile_config_default_f64(ctypes.byref(cfg), ctypes.sizeof(cfg), 0, 0.01))
        size, align, h = SIZE_T(), SIZE_T(), P()
        self.assertEqual(lib.smile_smile_memory_size_f64(1, None, ctypes.byref(size), ctypes.byref(align)),
                         DIMENSION_TOO_SMALL)
        check(lib.smile_smile_memory_size_f64(d, ctypes.byref(cfg), ctypes.byref(size), ctypes.byref(align)))
        mem = (ctypes.c_double * ((size.value + 7) // 8))()
        self.assertEqual(lib.smile_smile_init_f64(mem, size.value, d, None, vec([0.0] * d), 1, 0, ctypes.byref(h)),
                         NULL_POINTER)  # the config is required
        check(lib.smile_smile_init_f64(mem, size.value, d, ctypes.byref(cfg), vec([0.0] * d), 5, 0, ctypes.byref(h)))
        req, progress, info = Request(), ctypes.c_int(), SmileStepInfo()
        self.assertEqual(lib.smile_smile_tell_f64(h, 0.0, ctypes.byref(progress), ctypes.byref(info)), OUT_OF_ORDER)
        s, s2, out, batch_step, batch = [0.0] * d, [0.0] * d, (ctypes.c_double * d)(), 0, []
        for k in range(steps + steps // 10):
            while True:
                check(lib.smile_smile_ask_f64(h, ctypes.byref(req)))
                if req.step != batch_step:
                    batch, batch_step = [rnd.randrange(n) for _ in range(b)], req.step
                x = [req.x[j] for j in range(d)]
                lp = 0.0
                for j in range(d):
                    g = -x[j] + n / b * sum(y[i][j] - x[j] for i in batch)
                    lp += -0.5 * x[j] ** 2 - n / b * 0.5 * sum((y[i][j] - x[j]) ** 2 for i in batch)
                    req.grad[j] = g
                check(lib.smile_smile_tell_f64(h, lp, ctypes.byref(progress), ctypes.byref(info)))
                if progress.value == STEP_DONE:
                    break
            if k >= steps // 10:
                check(lib.smile_smile_position_f64(h, out, d))
                for j in range(d):
                    s[j] += out[j]
                    s2[j] += out[j] ** 2
        sd = 1 / math.sqrt(n + 1)
        for j in range(d):
            m = s[j] / steps
            v = s2[j] / steps - m * m
            self.assertLess(abs(m - post[j]), 0.3 * sd)
            self.assertLess(abs(math.log(math.sqrt(v) / sd)), 0.3)
        self.assertEqual(info.step, steps + steps // 10)
        self.assertEqual(info.divergences, info.resets)
        eps = ctypes.c_double()
        check(lib.smile_smile_step_size_f64(h, ctypes.byref(eps)))
        self.assertEqual(eps.value, info.next_step_size)


# ---- golden trajectories -------------------------------------------------

def target(spec):
    """log density and gradient for a golden file's target, or None."""
    name = spec["name"]
    if name == "std_gaussian":
        return gauss
    if name == "diag_gaussian":
        sig = spec["sigma"]
        return lambda x: (-0.5 * sum((v / s) ** 2 for v, s in zip(x, sig)), [-v / (s * s) for v, s in zip(x, sig)])
    if name == "dense_gaussian":
        prec = spec["precision"]

        def f(x):
            px = [sum(r[j] * x[j] for j in range(len(x))) for r in prec]
            return -0.5 * sum(a * b for a, b in zip(x, px)), [-v for v in px]
        return f
    if name == "banana":
        b, s1 = spec["b"], spec["sigma1"]

        def f(x):
            lp, g = 0.0, [0.0] * len(x)
            for k in range(0, len(x), 2):
                u, v = x[k], x[k + 1]
                r = v - b * (u * u - s1 * s1)
                lp += -u * u / (2 * s1 * s1) - r * r / 2
                g[k] = -u / (s1 * s1) + r * 2 * b * u
                g[k + 1] = -r
            return lp, g
        return f
    if name == "funnel":
        sv = spec["sigma_v"]

        def f(x):
            v, rest = x[0], x[1:]
            e = math.exp(-v)
            lp = -v * v / (2 * sv * sv) - sum(xi * xi * e / 2 + v / 2 for xi in rest)
            gv = -v / (sv * sv) + sum(xi * xi * e / 2 - 0.5 for xi in rest)
            return lp, [gv] + [-xi * e for xi in rest]
        return f
    if name == "logistic":
        X, y, sd = spec["X"], spec["y"], spec["prior_sd"]

        def f(w):
            lp = -sum(v * v for v in w) / (2 * sd * sd)
            g = [-v / (sd * sd) for v in w]
            for row, yi in zip(X, y):
                eta = sum(a * b for a, b in zip(row, w))
                lp += yi * eta - (eta + math.log1p(math.exp(-eta)) if eta > 0 else math.log1p(math.exp(eta)))
                r = yi - 1 / (1 + math.exp(-eta))
                for j, a in enumerate(row):
                    g[j] += r * a
            return lp, g
        return f
    return None


class Golden(unittest.TestCase):
    def test_isokinetic_trajectories(self):
        gdir = os.environ.get("SMILE_GOLDEN_DIR", os.path.join(ROOT, "..", "shared", "golden"))
        files = sorted(glob.glob(os.path.join(gdir, "*.json")))
        if not files:
            self.skipTest("no golden files in %s" % gdir)
        replayed = 0
        for path in files:
            with open(path) as fh:
                j = json.load(fh)
            if j.get("kind") != "isokinetic_trajectory":
                continue
            f = target(j["target"])
            if f is None or j["integrator"] not in INTEGRATORS:
                print("golden: skipping %s (target %s not in this harness)" % (os.path.basename(path), j["target"]["name"]))
                continue
            with self.subTest(file=os.path.basename(path)):
                self.replay(j, f)
                replayed += 1
        print("golden: replayed %d isokinetic_trajectory files through the C ABI" % replayed)

    def replay(self, j, f):
        x0, d = j["x0"], len(j["x0"])
        chain = Chain(x0, step_size=j["step_size"], decoherence_length=float("inf"),
                      integrator=INTEGRATORS[j["integrator"]])
        check(lib.smile_mclmc_set_momentum_f64(chain.h, vec(j["u0"]), d))
        check(lib.smile_mclmc_set_preconditioner_f64(chain.h, vec(j["precond"]), d))
        steps = j["steps"][:50]
        for k, want in enumerate(steps):
            info = chain.step_ask_tell(f)
            x = chain.position()
            scale = max(1.0, max(abs(v) for v in want["x"]))
            err = max(abs(a - b) for a, b in zip(x, want["x"])) / scale
            self.assertLess(err, 1e-8, "step %d: position error %g" % (k + 1, err))
            self.assertLess(abs(info.logdensity - want["logdensity"]), 1e-8 * max(1.0, abs(want["logdensity"])),
                            "step %d: log density" % (k + 1))
            self.assertLess(abs(info.energy_change - want["energy_change"]), 1e-9 * d,
                            "step %d: energy change" % (k + 1))


if __name__ == "__main__":
    unittest.main()
