/* smile_demo.c — Bayesian logistic regression on the bundled Wisconsin
 * breast-cancer data (569 patients, 30 standardised features + intercept,
 * label 1 = benign, prior N(0, 1) on every weight) with MINI-BATCHES,
 * sampled by SMILE (stochastic-gradient MCLMC with the energy-error tuner)
 * through the C ABI.
 *
 * Shows:
 *  - mini-batch sampling: batches of 64 from a permutation of the data,
 *    reshuffled every epoch; the caller scales the batch likelihood to the
 *    full data (SMILE paper, §2.2):
 *        l_B(w) = log prior(w) + (N / |B|) * sum_{i in B} log p(y_i | x_i, w)
 *    and tells l_B and its gradient;
 *  - one mini-batch per step: every request carries the index of its step
 *    (req.step); all requests of one step (2 with McLachlan) are evaluated
 *    on the same batch, and a new batch is drawn when req.step changes;
 *  - reverse communication (ask/tell): the demo evaluates the density itself;
 *  - SMILE's step info: step size (tuned on the fly), |energy error| and its
 *    moving mean, resets (tuner rejections) and divergences;
 *  - several chains in caller memory on independent streams, posterior
 *    means, standard deviations and R-hat, training accuracy and time.
 *
 * Settings: the SMILE preset (energy-error resets at the 0.98 quantile)
 * with a fixed step size 0.1 (adaption_strength δ = 0) and a partial
 * momentum refresh with L = sqrt(d). Why δ = 0: here |ΔE| is dominated by
 * the change of mini-batch between steps (ℓ_old and ℓ_new come from
 * different batches), so it hardly depends on ε; the tuner then shrinks ε
 * on 2a/3 of the steps and grows it on a/3, and ε decays geometrically
 * (try --delta 0.02: ε falls below 1e-3 and the chains stop mixing).
 *
 * usage: smile_demo [CSV] [--chains N] [--steps N] [--warmup N] [--batch N] [--seed N]
 *                   [--preset 0|1|2 (smile|naive|psmile)] [--eps E] [--L L (inf: none)] [--delta D]
 * (CSV defaults to data/breast_cancer/breast_cancer.csv). `make demo-c`
 * builds and runs it after the full-batch MCLMC demo (logistic_demo.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <smile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv_data.h"

enum { MAX_CHAINS = 16 };

/* the mini-batch stream of one chain: a permutation consumed batch by batch */
typedef struct {
    size_t *perm, pos, batch;
    uint64_t rng, step; /* the step the current batch belongs to */
    const size_t *idx;  /* the current batch */
    size_t len;
    uint64_t epochs;
} batches;

static void die(const char *what, smile_status st) {
    fprintf(stderr, "smile_demo: %s: %s\n", what, smile_status_str((int)st));
    exit(1);
}

/* a small generator for the shuffles (splitmix64) */
static uint64_t next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The batch for `step`: the next slice of the permutation, reshuffled
 * (Fisher-Yates) at the start of every epoch. The last batch of an epoch
 * may be shorter; its scale N/|B| uses its own size. */
static void batch_for(batches *b, size_t n, uint64_t step) {
    size_t i;
    if (b->idx && b->step == step) return; /* same step: same batch */
    if (b->pos >= n || !b->idx) {
        for (i = n - 1; i > 0; i--) {
            size_t j = (size_t)(next(&b->rng) % (i + 1)), t = b->perm[i];
            b->perm[i] = b->perm[j], b->perm[j] = t;
        }
        b->pos = 0;
        b->epochs++;
    }
    b->idx = b->perm + b->pos;
    b->len = n - b->pos < b->batch ? n - b->pos : b->batch;
    b->pos += b->len;
    b->step = step;
}

/* l_B(w) = log prior + (N/|B|) sum_B log lik, and its gradient */
static double minibatch_logp(const data *dt, const batches *b, const double *w, double *grad) {
    size_t k, j, d = dt->d;
    double lp = 0, scale = (double)dt->n / (double)b->len;
    for (j = 0; j < d; j++) {
        grad[j] = -w[j];
        lp -= 0.5 * w[j] * w[j];
    }
    for (k = 0; k < b->len; k++) {
        size_t i = b->idx[k];
        const double *xi = dt->x + i * d;
        double eta = 0, r;
        for (j = 0; j < d; j++) eta += xi[j] * w[j];
        /* y*eta - log(1 + e^eta), without overflow */
        lp += scale * (dt->y[i] * eta - (eta > 0 ? eta + log1p(exp(-eta)) : log1p(exp(eta))));
        r = scale * (dt->y[i] - 1 / (1 + exp(-eta)));
        for (j = 0; j < d; j++) grad[j] += r * xi[j];
    }
    return lp;
}

/* one SMILE step by reverse communication, a batch per step */
static void step(smile_smile_f64 *s, const data *dt, batches *b, smile_smile_step_info_f64 *info) {
    smile_request_f64 req;
    smile_progress progress;
    smile_status st;
    do {
        if ((st = smile_smile_ask_f64(s, &req)) != SMILE_OK) die("ask", st);
        batch_for(b, dt->n, req.step);
        st = smile_smile_tell_f64(s, minibatch_logp(dt, b, req.x, req.grad), &progress, info);
        if (st != SMILE_OK) die("tell", st);
    } while (progress != SMILE_PROGRESS_STEP_DONE);
}

int main(int argc, char **argv) {
    const char *path = "data/breast_cancer/breast_cancer.csv";
    int chains = 4, steps = 10000, warmup = 2000, c, k, a;
    unsigned preset = SMILE_SMILE_PRESET_SMILE;
    double eps0 = 0.1, ell = -1, delta = 0;
    size_t batch = 64, d, j, i, size, align;
    uint64_t seed = 1, resets = 0, divs = 0, evals = 0;
    data dt;
    void *mem[MAX_CHAINS];
    smile_smile_f64 *s[MAX_CHAINS];
    batches bt[MAX_CHAINS];
    static double cmean[MAX_CHAINS][MAX_COLS], cvar[MAX_CHAINS][MAX_COLS];
    double x[MAX_COLS], wmean[MAX_COLS], t0, secs, worst = 0;
    smile_smile_config_f64 cfg;
    smile_smile_step_info_f64 info;
    smile_status st;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--chains") && a + 1 < argc) chains = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--steps") && a + 1 < argc) steps = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--warmup") && a + 1 < argc) warmup = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--batch") && a + 1 < argc) batch = (size_t)atoi(argv[++a]);
        else if (!strcmp(argv[a], "--seed") && a + 1 < argc) seed = strtoull(argv[++a], NULL, 10);
        else if (!strcmp(argv[a], "--preset") && a + 1 < argc) preset = (unsigned)atoi(argv[++a]);
        else if (!strcmp(argv[a], "--eps") && a + 1 < argc) eps0 = atof(argv[++a]);
        else if (!strcmp(argv[a], "--L") && a + 1 < argc) ell = atof(argv[++a]);
        else if (!strcmp(argv[a], "--delta") && a + 1 < argc) delta = atof(argv[++a]);
        else if (argv[a][0] != '-') path = argv[a];
        else {
            fprintf(stderr, "usage: %s [CSV] [--chains N] [--steps N] [--warmup N] [--batch N] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    if (chains < 2 || chains > MAX_CHAINS || steps < 10 || warmup < 0 || batch < 1) {
        fprintf(stderr, "need 2 <= --chains <= %d, --steps >= 10, --warmup >= 0, --batch >= 1\n", MAX_CHAINS);
        return 2;
    }
    if (load(path, &dt) != 0) {
        fprintf(stderr, "smile_demo: cannot read %s (run from the repository root or pass the path)\n", path);
        return 1;
    }
    d = dt.d;
    if (batch > dt.n) batch = dt.n;
    printf("smile %s (C ABI): Bayesian logistic regression, breast cancer (N = %zu, d = %zu), SMILE f64 on "
           "mini-batches of %zu (N/|B| = %.1f), %d chains x %d steps after %d warm-up steps\n",
           smile_version(), dt.n, d, batch, (double)dt.n / (double)batch, chains, steps, warmup);
    t0 = (double)clock() / CLOCKS_PER_SEC;

    /* SMILE preset (resets at the 0.98 quantile of the fitted Gamma), fixed
     * step size (see the header), corrected mode. One chain per memory
     * block, all start at 0. */
    if ((st = smile_smile_config_default_f64(&cfg, sizeof cfg, preset, eps0)) != SMILE_OK)
        die("config_default", st);
    cfg.decoherence_length = ell > 0 ? ell : sqrt((double)d);
    if (delta >= 0) cfg.adaption_strength = delta;
    printf("settings: preset %u, step size %g (adaption_strength %g), L %g, reset quantile %g\n", preset,
           cfg.step_size, cfg.adaption_strength, cfg.decoherence_length, cfg.reset_prob);
    if ((st = smile_smile_memory_size_f64(d, &cfg, &size, &align)) != SMILE_OK) die("memory_size", st);
    for (j = 0; j < d; j++) x[j] = 0;
    for (c = 0; c < chains; c++) {
        mem[c] = malloc(size);
        st = smile_smile_init_f64(mem[c], size, d, &cfg, x, seed, (uint64_t)c, &s[c]);
        if (st != SMILE_OK) die("init", st);
        memset(&bt[c], 0, sizeof bt[c]);
        bt[c].perm = (size_t *)malloc(dt.n * sizeof(size_t));
        for (i = 0; i < dt.n; i++) bt[c].perm[i] = i;
        bt[c].batch = batch;
        bt[c].rng = seed * 1000003u + (uint64_t)c;
    }

    for (c = 0; c < chains; c++) {
        uint64_t r0 = 0, d0 = 0;
        for (k = 1; k <= warmup; k++) step(s[c], &dt, &bt[c], &info);
        if (warmup > 0) r0 = info.resets, d0 = info.divergences;
        for (j = 0; j < d; j++) cmean[c][j] = cvar[c][j] = 0;
        for (k = 1; k <= steps; k++) {
            step(s[c], &dt, &bt[c], &info);
            smile_smile_position_f64(s[c], x, d);
            for (j = 0; j < d; j++) { /* Welford */
                double delta = x[j] - cmean[c][j];
                cmean[c][j] += delta / k;
                cvar[c][j] += delta * (x[j] - cmean[c][j]);
            }
            if (k % (steps / 4 > 0 ? steps / 4 : 1) == 0)
                printf("chain %d: %5d/%d steps (epoch %llu), step size %.4f, |dE| %.3f (mean %.3f), "
                       "resets %llu, divergences %llu\n",
                       c, k, steps, (unsigned long long)bt[c].epochs, info.step_size, info.abs_energy_change,
                       info.energy_mean, (unsigned long long)(info.resets - r0),
                       (unsigned long long)(info.divergences - d0 - (info.resets - r0)));
        }
        for (j = 0; j < d; j++) cvar[c][j] /= steps - 1;
        resets += info.resets - r0;
        divs += info.divergences - d0 - (info.resets - r0);
        evals += info.grad_evals;
    }
    secs = (double)clock() / CLOCKS_PER_SEC - t0;

    printf("\n%-26s %9s %8s %7s\n", "weight", "mean", "sd", "R-hat");
    for (j = 0; j < d; j++) {
        double m = 0, w = 0, b = 0, rhat;
        for (c = 0; c < chains; c++) m += cmean[c][j] / chains, w += cvar[c][j] / chains;
        for (c = 0; c < chains; c++) b += pow(cmean[c][j] - m, 2) / (chains - 1);
        rhat = sqrt(((steps - 1.0) / steps * w + b) / w);
        if (rhat > worst) worst = rhat;
        wmean[j] = m;
        printf("%-26s %9.3f %8.3f %7.3f\n", dt.names[j], m, sqrt(w + b), rhat);
    }
    printf("\nworst R-hat %.3f%s\n", worst, worst < 1.05 ? "" : "  (run more steps)");
    {
        size_t right = 0;
        for (i = 0; i < dt.n; i++) {
            double eta = 0;
            for (j = 0; j < d; j++) eta += dt.x[i * d + j] * wmean[j];
            right += (eta > 0) == (dt.y[i] > 0.5);
        }
        printf("training accuracy of the posterior-mean classifier: %.1f%%\n", 100.0 * right / dt.n);
    }
    printf("while sampling: %llu tuner resets, %llu non-finite divergences (over %d steps)\n",
           (unsigned long long)resets, (unsigned long long)divs, chains * steps);
    printf("time: %.2f s CPU for %llu mini-batch gradient evaluations (%.0f per second; "
           "%.1f full-data passes)\n",
           secs, (unsigned long long)evals, evals / (secs > 0 ? secs : 1e-9),
           (double)evals * (double)batch / (double)dt.n);

    for (c = 0; c < chains; c++) free(mem[c]), free(bt[c].perm);
    free(dt.x), free(dt.y);
    return 0;
}
