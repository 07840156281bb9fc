/* csv_data.h — the breast-cancer CSV loader shared by the C demos
 * (logistic_demo.c, smile_demo.c): a header line, then numeric rows with the
 * 0/1 label last. Each feature is standardised (mean 0, population sd 1)
 * and an intercept column is prepended. Include after <stdio.h>,
 * <stdlib.h>, <string.h> and <math.h>.
 */
#ifndef SMILE_EXAMPLES_CSV_DATA_H
#define SMILE_EXAMPLES_CSV_DATA_H

enum { MAX_COLS = 64, LINE = 8192 };

typedef struct {
    size_t n, d;   /* rows; columns of the design (intercept + features) */
    double *x;     /* n x d, row-major */
    double *y;     /* n labels, 0 or 1 */
    char names[MAX_COLS][48];
} data;

/* Reads `path` into `dt` (malloc'ed x and y); 0 on success, -1 on error. */
static int load(const char *path, data *dt) {
    FILE *f = fopen(path, "r");
    char line[LINE], *tok;
    size_t cap = 1024, p = 0, i, j;
    double *raw;
    if (!f) return -1;
    if (!fgets(line, sizeof line, f)) return fclose(f), -1;
    strcpy(dt->names[0], "intercept");
    for (tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n")) {
        if (p + 1 >= MAX_COLS) return fclose(f), -1;
        snprintf(dt->names[p + 1], sizeof dt->names[0], "%s", tok);
        p++;
    }
    p--; /* the last column is the label */
    dt->d = p + 1;
    raw = (double *)malloc(cap * (p + 1) * sizeof(double));
    dt->n = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = line, *end;
        if (line[0] == '\n' || line[0] == '\r' || line[0] == 0) continue;
        if (dt->n == cap) {
            cap *= 2;
            raw = (double *)realloc(raw, cap * (p + 1) * sizeof(double));
        }
        for (j = 0; j <= p; j++) {
            raw[dt->n * (p + 1) + j] = strtod(s, &end);
            if (end == s) return fclose(f), free(raw), -1;
            s = end + (*end == ',');
        }
        dt->n++;
    }
    fclose(f);
    dt->x = (double *)malloc(dt->n * dt->d * sizeof(double));
    dt->y = (double *)malloc(dt->n * sizeof(double));
    for (j = 0; j < p; j++) {
        double m = 0, v = 0;
        for (i = 0; i < dt->n; i++) m += raw[i * (p + 1) + j];
        m /= (double)dt->n;
        for (i = 0; i < dt->n; i++) v += pow(raw[i * (p + 1) + j] - m, 2);
        v = sqrt(v / (double)dt->n);
        for (i = 0; i < dt->n; i++) dt->x[i * dt->d + j + 1] = (raw[i * (p + 1) + j] - m) / v;
    }
    for (i = 0; i < dt->n; i++) {
        dt->x[i * dt->d] = 1;
        dt->y[i] = raw[i * (p + 1) + p];
    }
    free(raw);
    return 0;
}

#endif
