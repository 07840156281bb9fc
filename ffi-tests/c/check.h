/* Minimal test harness for the C tests: CHECK counts passes and failures,
 * CHECK_ST compares a smile_status with the expected one, SUMMARY prints the
 * closing "name: N passed, M failed" line and gives the exit code. */
#ifndef SMILE_CHECK_H
#define SMILE_CHECK_H

#include <stdio.h>
#include <smile.h>

static int g_pass, g_fail;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            g_pass++;                                                            \
        } else {                                                                 \
            g_fail++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_ST(call, want)                                                     \
    do {                                                                         \
        smile_status st_ = (call);                                               \
        if (st_ == (want)) {                                                     \
            g_pass++;                                                            \
        } else {                                                                 \
            g_fail++;                                                            \
            fprintf(stderr, "%s:%d: %s\n    returned %d (%s), want %s\n", __FILE__, \
                    __LINE__, #call, (int)st_, smile_status_str((int)st_), #want); \
        }                                                                        \
    } while (0)

static int summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}

#endif
