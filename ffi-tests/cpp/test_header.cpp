// test_header: smile.h compiles as C++17 (g++ -std=c++17 -Wall -Wextra
// -Werror), its declarations have C linkage, and a chain runs from C++.
// Prints "test_header: N passed, M failed".
#include <smile.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

static int g_pass, g_fail;
#define CHECK(c) ((c) ? ++g_pass : (std::fprintf(stderr, "%d: CHECK failed: %s\n", __LINE__, #c), ++g_fail))

extern "C" int logp(void *, size_t dim, const double *x, double *grad, double *lp) {
    double s = 0;
    for (size_t i = 0; i < dim; i++) {
        grad[i] = -x[i];
        s += x[i] * x[i];
    }
    *lp = -0.5 * s;
    return 0;
}

int main() {
    static_assert(SMILE_OK == 0, "SMILE_OK is 0");
    static_assert(SMILE_ALIGN == 8, "alignment");
    const size_t d = 3;
    size_t size = 0, align = 0;
    CHECK(smile_mclmc_memory_size_f64(d, nullptr, &size, &align) == SMILE_OK);
    std::vector<double> mem((size + sizeof(double) - 1) / sizeof(double));
    smile_mclmc_config_f64 cfg{};
    CHECK(smile_mclmc_config_default_f64(&cfg, sizeof cfg, d) == SMILE_OK);
    const double x0[3] = {1, 2, 3};
    smile_mclmc_f64 *s = nullptr;
    CHECK(smile_mclmc_init_f64(mem.data(), size, d, &cfg, x0, 7, 0, &s) == SMILE_OK);
    smile_step_info_f64 info{};
    for (int k = 0; k < 100; k++) CHECK(smile_mclmc_step_f64(s, logp, nullptr, &info) == SMILE_OK);
    CHECK(info.step == 100);
    CHECK(smile_mclmc_init_f64(nullptr, size, d, &cfg, x0, 7, 0, &s) == SMILE_ERR_NULL_POINTER);
    CHECK(std::strcmp(smile_version(), SMILE_VERSION_STRING) == 0);
    std::printf("test_header: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
