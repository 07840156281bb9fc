/* test_threads: independent samplers stepped in parallel threads (pthreads)
 * give exactly the results of running them one after another: the library
 * has no global state. Each thread owns one MCLMC chain per precision, one
 * SMILE chain (with a deterministic mini-batch-like gradient noise per
 * step) and one SGLD chain, each in its own memory; the result compared is
 * every 10th draw of every chain, bit for bit.
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
    double smile[STEPS / 10][DIM];
    double sgld[STEPS / 10][DIM];
    uint64_t divergences, resets;
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

/* the Gaussian above with a noisy gradient: the noise depends only on the
 * step index (*user) and the coordinate, as a mini-batch would */
static int noisy64(void *user, size_t dim, const double *x, double *grad, double *logp) {
    uint64_t step = *(const uint64_t *)user;
    size_t i;
    logp64(NULL, dim, x, grad, logp);
    for (i = 0; i < dim; i++) {
        uint64_t h = (step * 0x9E3779B97F4A7C15ull) ^ (i * 0xBF58476D1CE4E5B9ull);
        h ^= h >> 31;
        h *= 0x94D049BB133111EBull;
        h ^= h >> 29;
        grad[i] += 0.3 * ((double)(h >> 11) / 9007199254740992.0 - 0.5);
    }
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
    smile_smile_config_f64 sc;
    smile_smile_step_info_f64 sinfo;
    smile_sgld_config_f64 gc;
    smile_smile_f64 *sm = NULL;
    smile_sgld_f64 *sg = NULL;
    size_t size_sm = 0, size_sg = 0;
    void *m_sm, *m_sg;
    uint64_t step;
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
    st |= smile_smile_config_default_f64(&sc, sizeof sc, SMILE_SMILE_PRESET_PSMILE, 0.5);
    sc.decoherence_length = 8; /* the partial refresh draws from the stream */
    st |= smile_smile_memory_size_f64(DIM, &sc, &size_sm, &align);
    st |= smile_sgld_config_default_f64(&gc, sizeof gc, 0.05);
    st |= smile_sgld_memory_size_f64(DIM, &gc, &size_sg, &align);
    m_sm = malloc(size_sm);
    m_sg = malloc(size_sg);
    st |= smile_smile_init_f64(m_sm, size_sm, DIM, &sc, x0, j->seed, j->stream, &sm);
    st |= smile_sgld_init_f64(m_sg, size_sg, DIM, &gc, x0, j->seed, j->stream, &sg);
    for (k = 0; k < STEPS && st == 0; k++) {
        st |= smile_mclmc_step_f64(a, logp64, NULL, &info);
        st |= smile_mclmc_step_f32(b, logp32, NULL, NULL);
        step = (uint64_t)k + 1;
        st |= smile_smile_step_f64(sm, noisy64, &step, &sinfo);
        st |= smile_sgld_step_f64(sg, noisy64, &step, NULL);
        if (k % 10 == 0) {
            st |= smile_mclmc_position_f64(a, j->draws[k / 10], DIM);
            st |= smile_mclmc_position_f32(b, j->draws32[k / 10], DIM);
            st |= smile_smile_position_f64(sm, j->smile[k / 10], DIM);
            st |= smile_sgld_position_f64(sg, j->sgld[k / 10], DIM);
        }
    }
    j->divergences = info.divergences;
    j->resets = sinfo.resets;
    j->status = st;
    free(m64);
    free(m32);
    free(m_sm);
    free(m_sg);
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
        same &= memcmp(par[i].smile, seq[i].smile, sizeof par[i].smile) == 0;
        same &= memcmp(par[i].sgld, seq[i].sgld, sizeof par[i].sgld) == 0;
        CHECK(par[i].divergences == seq[i].divergences && par[i].resets == seq[i].resets);
    }
    CHECK(same);
    /* different streams give different chains */
    CHECK(memcmp(par[0].draws, par[1].draws, sizeof par[0].draws) != 0);
    CHECK(memcmp(par[0].smile, par[1].smile, sizeof par[0].smile) != 0);
    CHECK(memcmp(par[0].sgld, par[1].sgld, sizeof par[0].sgld) != 0);
    return summary("test_threads");
}
