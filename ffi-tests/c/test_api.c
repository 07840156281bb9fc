/* test_api: every entry point of smile.h (MCLMC: api_tests.inc, SMILE:
 * smile_tests.inc, SGLD family: sg_tests.inc, MCLMC tuner and diagnostics:
 * adapter_tests.inc), in both precisions, with valid
 * and invalid input: each misuse must return its documented status, never
 * crash. Also golden values (BlackJAX), determinism, checkpoint/restore and
 * sampling statistics. `test_api --short` runs fewer sampling steps (for
 * valgrind). Prints "test_api: N passed, M failed". */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define T double
#define SFX f64
#define TOL 1e-9
#include "api_tests.inc"
#include "smile_tests.inc"
#include "sg_family.inc"
#include "adapter_tests.inc"
#undef T
#undef SFX
#undef TOL

#define T float
#define SFX f32
#define TOL 1e-4
#include "api_tests.inc"
#include "smile_tests.inc"
#include "sg_family.inc"
#include "adapter_tests.inc"
#undef T
#undef SFX
#undef TOL

static void test_status_and_version(void) {
    int codes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 32, 33, 34, 35, 36, 37};
    const char *unknown = smile_status_str(-1);
    size_t i;
    CHECK(unknown != NULL && strstr(unknown, "unknown") != NULL);
    CHECK(strcmp(smile_status_str(12), unknown) == 0);
    CHECK(strcmp(smile_status_str(1000000), unknown) == 0);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = smile_status_str(codes[i]);
        CHECK(m != NULL && strcmp(m, unknown) != 0 && strlen(m) > 5);
    }
    CHECK(strcmp(smile_status_str(SMILE_OK), "success") == 0);
    CHECK(SMILE_ERR_NULL_POINTER == 1 && SMILE_ERR_CALLBACK_FAILED == 11);
    CHECK(SMILE_ERR_STRUCT_SIZE == 32 && SMILE_ERR_BUSY == 37);
    CHECK(strcmp(smile_version(), SMILE_VERSION_STRING) == 0);
    CHECK(smile_version_number() == SMILE_VERSION_NUMBER);
    CHECK(SMILE_VERSION_NUMBER == SMILE_VERSION_MAJOR * 10000 + SMILE_VERSION_MINOR * 100 +
                                      SMILE_VERSION_PATCH);
}

/* An instance of one precision is refused by the other's functions. */
static void test_cross_precision(void) {
    void *m64, *m32;
    smile_mclmc_f64 *a = chain_f64(4, NULL, 1, 0, &m64);
    smile_mclmc_f32 *b = chain_f32(4, NULL, 1, 0, &m32);
    size_t dim;
    smile_step_info_f64 info;
    CHECK_ST(smile_mclmc_dim_f64((const smile_mclmc_f64 *)(const void *)b, &dim),
             SMILE_ERR_NOT_AN_INSTANCE);
    CHECK_ST(smile_mclmc_dim_f32((const smile_mclmc_f32 *)(const void *)a, &dim),
             SMILE_ERR_NOT_AN_INSTANCE);
    CHECK_ST(smile_mclmc_step_f64((smile_mclmc_f64 *)(void *)b, gauss_f64, NULL, &info),
             SMILE_ERR_NOT_AN_INSTANCE);
    {
        /* an adapter of one precision refuses a chain of the other */
        void *am;
        smile_mclmc_adapter_config_f64 ac = cfg_adapt_f64(100);
        smile_mclmc_adapter_f64 *ad = adapter_adapt_f64(4, &ac, &am);
        smile_adapt_phase ph;
        CHECK_ST(smile_mclmc_step_f64(a, gauss_f64, NULL, &info), SMILE_OK);
        CHECK_ST(smile_mclmc_adapter_observe_f64(ad, (smile_mclmc_f64 *)(void *)b, &info, &ph),
                 SMILE_ERR_NOT_AN_INSTANCE);
        CHECK_ST(smile_mclmc_adapter_phase_f32((const smile_mclmc_adapter_f32 *)(const void *)ad, &ph),
                 SMILE_ERR_NOT_AN_INSTANCE);
        CHECK_ST(smile_mclmc_adapter_observe_f64(ad, a, &info, &ph), SMILE_OK);
        free(am);
    }
    free(m64);
    free(m32);
}

int main(int argc, char **argv) {
    int steps = (argc > 1 && strcmp(argv[1], "--short") == 0) ? 2000 : 20000;
    test_status_and_version();
    run_all_f64(steps);
    run_all_f32(steps);
    run_all_smile_f64(steps);
    run_all_smile_f32(steps);
    run_all_sg_f64(steps);
    run_all_sg_f32(steps);
    run_all_adapt_f64(steps);
    run_all_adapt_f32(steps);
    test_cross_precision();
    return summary("test_api");
}
