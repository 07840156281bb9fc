/* test_threads: independent samplers stepped in parallel threads (pthreads)
 * give exactly the results of running them one after another: the library
 * has no global state. Each thread owns one instance in its own memory; the
 * result compared is every draw of every chain, bit for bit.
 * Prints "test_threads: N passed, M failed". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { CHAINS = 8, DIM = 16, STEPS = 20000 };

typedef struct {
    uint64_t seed, stream;
    double draws[STEPS / 10][DIM]; /* every 10th position */
    float draws32[STEPS / 10][DIM];
    uint64_t divergences;
    int status;
} job;

/* log density: independent Gaussians with scales 1 + i/4 */
static int logp64(void *user, size_t dim, const double *x, double *grad, double *logp) {
    double s = 0;
    size_t i;
    (void)user;
    for (i = 0; i < dim; i++) {
        double sg = 1.0 + (double)i / 4, z = x[i] / sg;
        grad[i] = -z / sg;
        s += z * z;
    }
    *logp = -0.5 * s;
    return 0;
}

static int logp32(void *user, size_t dim, const float *x, float *grad, float *logp) {
    float s = 0;
    size_t i;
    (void)user;
    for (i = 0; i < dim; i++) {
        float sg = 1.0f + (float)i / 4, z = x[i] / sg;
        grad[i] = -z / sg;
        s += z * z;
    }
    *logp = -0.5f * s;
    return 0;
}

static void *run(void *arg) {
    job *j = (job *)arg;
    size_t size64 = 0, size32 = 0, align = 0;
    double x0[DIM];
    float y0[DIM];
    void *m64, *m32;
    smile_mclmc_f64 *a = NULL;
    smile_mclmc_f32 *b = NULL;
    smile_mclmc_config_f64 c;
    smile_step_info_f64 info;
    int k, i, st = 0;

    for (i = 0; i < DIM; i++) x0[i] = 1.0, y0[i] = 1.0f;
    st |= smile_mclmc_memory_size_f64(DIM, NULL, &size64, &align);
    st |= smile_mclmc_memory_size_f32(DIM, NULL, &size32, &align);
    m64 = malloc(size64);
    m32 = malloc(size32);
    st |= smile_mclmc_config_default_f64(&c, sizeof c, DIM);
    c.step_size = 1.2;
    st |= smile_mclmc_init_f64(m64, size64, DIM, &c, x0, j->seed, j->stream, &a);
    st |= smile_mclmc_init_f32(m32, size32, DIM, NULL, y0, j->seed, j->stream, &b);
    for (k = 0; k < STEPS && st == 0; k++) {
        st |= smile_mclmc_step_f64(a, logp64, NULL, &info);
        st |= smile_mclmc_step_f32(b, logp32, NULL, NULL);
        if (k % 10 == 0) {
            st |= smile_mclmc_position_f64(a, j->draws[k / 10], DIM);
            st |= smile_mclmc_position_f32(b, j->draws32[k / 10], DIM);
        }
    }
    j->divergences = info.divergences;
    j->status = st;
    free(m64);
    free(m32);
    return NULL;
}

int main(void) {
    static job par[CHAINS], seq[CHAINS];
    pthread_t th[CHAINS];
    int i, same = 1;

    for (i = 0; i < CHAINS; i++) {
        par[i].seed = seq[i].seed = 1234;
        par[i].stream = seq[i].stream = (uint64_t)i;
    }
    for (i = 0; i < CHAINS; i++) CHECK(pthread_create(&th[i], NULL, run, &par[i]) == 0);
    for (i = 0; i < CHAINS; i++) CHECK(pthread_join(th[i], NULL) == 0);
    for (i = 0; i < CHAINS; i++) run(&seq[i]);
    for (i = 0; i < CHAINS; i++) {
        CHECK(par[i].status == 0 && seq[i].status == 0);
        same &= memcmp(par[i].draws, seq[i].draws, sizeof par[i].draws) == 0;
        same &= memcmp(par[i].draws32, seq[i].draws32, sizeof par[i].draws32) == 0;
        CHECK(par[i].divergences == seq[i].divergences);
    }
    CHECK(same);
    /* different streams give different chains */
    CHECK(memcmp(par[0].draws, par[1].draws, sizeof par[0].draws) != 0);
    return summary("test_threads");
}
