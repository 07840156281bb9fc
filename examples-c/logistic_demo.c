/* logistic_demo.c — the main C demo: Bayesian logistic regression on the
 * Wisconsin breast-cancer data bundled in data/breast_cancer/ (569 patients,
 * 30 standardised features + intercept, label 1 = benign), prior N(0, 1) on
 * every weight, sampled with MCLMC through the C ABI.
 *
 * Shows:
 *  - several chains, each in its own caller-owned memory, on independent
 *    random streams of one seed;
 *  - warm-up tuning written in C with the setters: step size from the
 *    energy error (smile_mclmc_set_config_f64), then a diagonal
 *    preconditioner from the warm-up draws (smile_mclmc_set_preconditioner_f64);
 *  - both driving styles: the callback step during warm-up, reverse
 *    communication (ask/tell, no callback) while sampling;
 *  - step info (energy error, divergences), progress, posterior means,
 *    standard deviations and R-hat, training accuracy, time;
 *  - a checkpoint (save/restore) that resumes bit for bit.
 *
 * usage: logistic_demo [CSV] [--chains N] [--steps N] [--warmup N] [--seed N]
 * (CSV defaults to data/breast_cancer/breast_cancer.csv; run from the repo
 * root or pass the path). `make -C examples-c demo` builds and runs it.
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

static void die(const char *what, smile_status st) {
    fprintf(stderr, "logistic_demo: %s: %s\n", what, smile_status_str((int)st));
    exit(1);
}

/* log posterior (up to a constant) and its gradient */
static double log_posterior(const data *dt, const double *w, double *grad) {
    size_t i, j, d = dt->d;
    double lp = 0;
    for (j = 0; j < d; j++) {
        grad[j] = -w[j];
        lp -= 0.5 * w[j] * w[j];
    }
    for (i = 0; i < dt->n; i++) {
        const double *xi = dt->x + i * d;
        double eta = 0, prob;
        for (j = 0; j < d; j++) eta += xi[j] * w[j];
        /* y*eta - log(1 + e^eta), computed without overflow */
        lp += dt->y[i] * eta - (eta > 0 ? eta + log1p(exp(-eta)) : log1p(exp(eta)));
        prob = 1 / (1 + exp(-eta));
        for (j = 0; j < d; j++) grad[j] += (dt->y[i] - prob) * xi[j];
    }
    return lp;
}

/* the density callback, for smile_mclmc_step_f64 */
static int logp_cb(void *user, size_t dim, const double *x, double *grad, double *lp) {
    (void)dim;
    *lp = log_posterior((const data *)user, x, grad);
    return 0;
}

/* one step by reverse communication: the demo evaluates the density itself */
static void step_ask_tell(smile_mclmc_f64 *s, const data *dt, smile_step_info_f64 *info) {
    smile_request_f64 req;
    smile_progress progress;
    smile_status st;
    do {
        if ((st = smile_mclmc_ask_f64(s, &req)) != SMILE_OK) die("ask", st);
        st = smile_mclmc_tell_f64(s, log_posterior(dt, req.x, req.grad), &progress, info);
        if (st != SMILE_OK) die("tell", st);
    } while (progress != SMILE_PROGRESS_STEP_DONE);
}

/* Warm-up: adapts the step size so that the energy error per dimension has
 * variance ~5e-4 (the MCLMC rule of thumb). The energy error variance grows
 * like eps^6, so a weighted running average of xi / eps^6 (xi = observed /
 * desired variance; outliers down-weighted) estimates its constant, and
 * eps = average^(-1/6). A divergence halves the step size. */
static void tune_step_size(smile_mclmc_f64 *s, const data *dt, int steps, double *mean,
                           double *var) {
    smile_mclmc_config_f64 cfg;
    smile_step_info_f64 info;
    smile_status st;
    double num = 0, den = 0, x[MAX_COLS];
    size_t j, d = dt->d;
    int k, kept = 0;
    if ((st = smile_mclmc_get_config_f64(s, &cfg, sizeof cfg)) != SMILE_OK) die("get_config", st);
    for (j = 0; j < d; j++) mean[j] = var[j] = 0;
    for (k = 0; k < steps; k++) {
        if ((st = smile_mclmc_step_f64(s, logp_cb, (void *)dt, &info)) != SMILE_OK) die("step", st);
        if (info.divergence != SMILE_DIVERGENCE_NONE) {
            cfg.step_size *= 0.5;
            num = den = 0;
        } else {
            double xi = info.energy_change * info.energy_change / (double)d / 5e-4 + 1e-8;
            double w = exp(-0.5 * pow(log(xi) / 9.0, 2));
            num = 0.95 * num + w * xi / pow(cfg.step_size, 6);
            den = 0.95 * den + w;
            cfg.step_size = pow(num / den, -1.0 / 6);
        }
        if ((st = smile_mclmc_set_config_f64(s, &cfg)) != SMILE_OK) die("set_config", st);
        if (k >= steps / 2) { /* Welford over the second half */
            kept++;
            smile_mclmc_position_f64(s, x, d);
            for (j = 0; j < d; j++) {
                double delta = x[j] - mean[j];
                mean[j] += delta / kept;
                var[j] += delta * (x[j] - mean[j]);
            }
        }
    }
    for (j = 0; j < d; j++) var[j] /= kept > 1 ? kept - 1 : 1;
}

int main(int argc, char **argv) {
    const char *path = "data/breast_cancer/breast_cancer.csv";
    int chains = 4, steps = 2000, warmup = 1000, c, k, a;
    uint64_t seed = 1;
    data dt;
    size_t d, j, i, size, align;
    void *mem[MAX_CHAINS];
    smile_mclmc_f64 *s[MAX_CHAINS];
    static double cmean[MAX_CHAINS][MAX_COLS], cvar[MAX_CHAINS][MAX_COLS];
    double wmean[MAX_COLS], wsd[MAX_COLS], scale[MAX_COLS], x[MAX_COLS], t0, secs;
    uint64_t divs = 0, evals = 0, st_steps, st_evals, st_divs;
    smile_status st;
    smile_step_info_f64 info;
    double de2 = 0;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--chains") && a + 1 < argc) chains = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--steps") && a + 1 < argc) steps = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--warmup") && a + 1 < argc) warmup = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--seed") && a + 1 < argc) seed = strtoull(argv[++a], NULL, 10);
        else if (argv[a][0] != '-') path = argv[a];
        else {
            fprintf(stderr, "usage: %s [CSV] [--chains N] [--steps N] [--warmup N] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    if (chains < 2 || chains > MAX_CHAINS || steps < 10 || warmup < 20) {
        fprintf(stderr, "need 2 <= --chains <= %d, --steps >= 10, --warmup >= 20\n", MAX_CHAINS);
        return 2;
    }
    if (load(path, &dt) != 0) {
        fprintf(stderr, "logistic_demo: cannot read %s (run from the repository root or pass the path)\n", path);
        return 1;
    }
    d = dt.d;
    printf("smile %s (C ABI): Bayesian logistic regression, breast cancer (n = %zu, d = %zu), "
           "MCLMC f64, %d chains x %d steps after %d warm-up steps\n",
           smile_version(), dt.n, d, chains, steps, warmup);
    t0 = (double)clock() / CLOCKS_PER_SEC;

    /* chains in caller memory: size query, then init; all start at 0 */
    if ((st = smile_mclmc_memory_size_f64(d, NULL, &size, &align)) != SMILE_OK) die("memory_size", st);
    for (j = 0; j < d; j++) x[j] = 0;
    for (c = 0; c < chains; c++) {
        mem[c] = malloc(size);
        st = smile_mclmc_init_f64(mem[c], size, d, NULL, x, seed, (uint64_t)c, &s[c]);
        if (st != SMILE_OK) die("init", st);
    }

    for (c = 0; c < chains; c++) {
        smile_mclmc_config_f64 cfg;
        /* warm-up 1: step size; the draws give the posterior scales */
        tune_step_size(s[c], &dt, warmup / 2, wmean, scale);
        for (j = 0; j < d; j++) scale[j] = sqrt(scale[j]) + 1e-6;
        if ((st = smile_mclmc_set_preconditioner_f64(s[c], scale, d)) != SMILE_OK) die("set_preconditioner", st);
        /* L ~ sqrt(d) in preconditioned units (unit posterior scales) */
        smile_mclmc_get_config_f64(s[c], &cfg, sizeof cfg);
        cfg.decoherence_length = sqrt((double)d);
        if ((st = smile_mclmc_set_config_f64(s[c], &cfg)) != SMILE_OK) die("set_config", st);
        /* warm-up 2: step size again, with the preconditioner */
        tune_step_size(s[c], &dt, warmup / 2, wmean, wsd);
        smile_mclmc_get_config_f64(s[c], &cfg, sizeof cfg);
        smile_mclmc_counters_f64(s[c], &st_steps, &st_evals, &st_divs);
        printf("chain %d: tuned: step size %.3f, L %.2f, %llu warm-up divergences\n", c, cfg.step_size,
               cfg.decoherence_length, (unsigned long long)st_divs);
    }

    /* sampling, by reverse communication */
    for (c = 0; c < chains; c++) {
        uint64_t divs0, evals0;
        smile_mclmc_counters_f64(s[c], &st_steps, &evals0, &divs0);
        for (j = 0; j < d; j++) cmean[c][j] = cvar[c][j] = 0;
        for (k = 1; k <= steps; k++) {
            step_ask_tell(s[c], &dt, &info);
            de2 += info.energy_change * info.energy_change;
            smile_mclmc_position_f64(s[c], x, d);
            for (j = 0; j < d; j++) {
                double delta = x[j] - cmean[c][j];
                cmean[c][j] += delta / k;
                cvar[c][j] += delta * (x[j] - cmean[c][j]);
            }
            if (k % (steps / 4 > 0 ? steps / 4 : 1) == 0)
                printf("chain %d: %5d/%d steps, log density %8.2f, divergences %llu\n", c, k, steps,
                       info.logdensity, (unsigned long long)(info.divergences - divs0));
        }
        for (j = 0; j < d; j++) cvar[c][j] /= steps - 1;
        smile_mclmc_counters_f64(s[c], &st_steps, &st_evals, &st_divs);
        divs += st_divs - divs0;
        evals += st_evals - evals0;
    }
    secs = (double)clock() / CLOCKS_PER_SEC - t0;

    /* posterior summaries: mean, sd and R-hat (Gelman-Rubin) per weight */
    printf("\n%-26s %9s %8s %7s\n", "weight", "mean", "sd", "R-hat");
    {
        double worst = 0;
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
    }
    {
        size_t right = 0;
        for (i = 0; i < dt.n; i++) {
            double eta = 0;
            for (j = 0; j < d; j++) eta += dt.x[i * d + j] * wmean[j];
            right += (eta > 0) == (dt.y[i] > 0.5);
        }
        printf("training accuracy of the posterior-mean classifier: %.1f%%\n", 100.0 * right / dt.n);
    }
    printf("divergences while sampling: %llu; energy error variance per dimension %.2e\n",
           (unsigned long long)divs, de2 / chains / steps / d);
    printf("time: %.2f s CPU for %llu gradient evaluations (%.0f per second)\n", secs,
           (unsigned long long)evals, evals / (secs > 0 ? secs : 1e-9));

    /* checkpoint chain 0 into a byte buffer, restore it elsewhere, and check
     * that both copies continue identically */
    {
        unsigned char *ck = (unsigned char *)malloc(size);
        void *mem2 = malloc(size);
        smile_mclmc_f64 *copy;
        double y[MAX_COLS];
        int same = 1;
        if ((st = smile_mclmc_save_f64(s[0], ck, size)) != SMILE_OK) die("save", st);
        if ((st = smile_mclmc_restore_f64(mem2, size, ck, size, &copy)) != SMILE_OK) die("restore", st);
        for (k = 0; k < 100; k++) {
            step_ask_tell(s[0], &dt, &info);
            step_ask_tell(copy, &dt, &info);
            smile_mclmc_position_f64(s[0], x, d);
            smile_mclmc_position_f64(copy, y, d);
            same &= memcmp(x, y, d * sizeof(double)) == 0;
        }
        printf("checkpoint: %zu bytes; the restored chain %s the original for 100 steps\n", size,
               same ? "matches" : "DIFFERS FROM");
        free(ck);
        free(mem2);
        if (!same) return 1;
    }
    for (c = 0; c < chains; c++) free(mem[c]);
    free(dt.x), free(dt.y);
    return 0;
}
