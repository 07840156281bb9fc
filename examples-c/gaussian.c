/* gaussian.c — the minimal smile example (the README's C quick start).
 *
 * Shows: the size query, an instance in caller memory, the callback step
 * with the standard density callback shape, and reading the position.
 * Samples a 10-dimensional standard Gaussian with MCLMC and prints the
 * mean and variance of the draws of the first coordinate (about 0 and 1).
 *
 * Build against an installed smile:
 *   cc -std=c99 gaussian.c $(pkg-config --cflags --libs smile) -o gaussian
 */
#include <smile.h>
#include <stdio.h>
#include <stdlib.h>

/* log p(x) = -|x|^2 / 2 and its gradient -x */
static int logp(void *user, size_t dim, const double *x, double *grad, double *lp) {
    double s = 0;
    size_t i;
    (void)user;
    for (i = 0; i < dim; i++) {
        grad[i] = -x[i];
        s += x[i] * x[i];
    }
    *lp = -0.5 * s;
    return 0;
}

int main(void) {
    enum { D = 10, STEPS = 20000 };
    double x[D] = {0}, sum = 0, sum2 = 0;
    size_t size, align;
    smile_mclmc_f64 *chain;
    smile_step_info_f64 info;
    smile_status st;
    void *mem;
    int i;

    smile_mclmc_memory_size_f64(D, NULL, &size, &align);
    mem = malloc(size); /* malloc's alignment is at least SMILE_ALIGN */
    st = smile_mclmc_init_f64(mem, size, D, NULL, x, /*seed*/ 42, /*stream*/ 0, &chain);
    if (st != SMILE_OK) {
        fprintf(stderr, "init: %s\n", smile_status_str(st));
        return 1;
    }
    for (i = 0; i < STEPS; i++) {
        if ((st = smile_mclmc_step_f64(chain, logp, NULL, &info)) != SMILE_OK) {
            fprintf(stderr, "step: %s\n", smile_status_str(st));
            return 1;
        }
        smile_mclmc_position_f64(chain, x, D);
        sum += x[0];
        sum2 += x[0] * x[0];
    }
    printf("smile %s: %d steps, %llu divergences; x[0]: mean %.3f, variance %.3f\n",
           smile_version(), STEPS, (unsigned long long)info.divergences, sum / STEPS,
           sum2 / STEPS - (sum / STEPS) * (sum / STEPS));
    free(mem);
    return 0;
}
