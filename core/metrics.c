// metrics.c — see metrics.h.
#define _POSIX_C_SOURCE 200809L
#include "metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// Rewrites the file keeping only lines of steps <= last (through a temporary file and a rename).
static int truncate_after(const char *path, int64_t last, fx_err *err) {
    FILE *in = fopen(path, "r");
    if (!in) return 0; // nothing logged yet
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return fx_errf(err, "%s: cannot create", tmp);
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsNumber(s) && s->valuedouble <= (double)last) fputs(line, out);
        cJSON_Delete(j);
    }
    free(line);
    fclose(in);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return fx_errf(err, "%s: cannot rewrite for the resumed run", path);
    }
    return 0;
}

int fx_metrics_open(fx_metrics *m, const char *run_dir, int64_t resume_step, fx_err *err) {
    memset(m, 0, sizeof *m);
    if (fx_mkdir_p(run_dir, err)) return -1;
    snprintf(m->path, sizeof m->path, "%s/metrics.jsonl", run_dir);
    if (resume_step >= 0 && truncate_after(m->path, resume_step, err)) return -1;
    m->f = fopen(m->path, resume_step >= 0 ? "a" : "w");
    if (!m->f) return fx_errf(err, "%s: cannot open for writing", m->path);
    return 0;
}

int fx_metrics_write(fx_metrics *m, int64_t step, int n, const char *const *keys, const double *values, fx_err *err) {
    fprintf(m->f, "{\"step\": %lld", (long long)step);
    for (int i = 0; i < n; i++) {
        if (isfinite(values[i])) fprintf(m->f, ", \"%s\": %.17g", keys[i], values[i]);
        else fprintf(m->f, ", \"%s\": null", keys[i]);
    }
    fputs("}\n", m->f);
    if (fflush(m->f) != 0 || ferror(m->f)) return fx_errf(err, "%s: write failed (disk full?)", m->path);
    return 0;
}

void fx_metrics_close(fx_metrics *m) {
    if (m->f) fclose(m->f);
    m->f = NULL;
}
