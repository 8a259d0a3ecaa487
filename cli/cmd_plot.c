// cmd_plot.c — `fluxrl plot RUN_DIR [--out DIR]`: learning curves from RUN_DIR/metrics.jsonl as
// PNG files, one per metric, drawn by gnuplot (Debian's gnuplot-nox; launch/deps.sh installs it).
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"

#define MAX_KEYS 128

typedef struct {
    char name[64];
    FILE *data; // "step value" lines for gnuplot
    char data_path[4400];
    int points;
} series;

static bool safe_name(const char *s) {
    if (!s[0] || strlen(s) >= 64) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

// Reads metrics.jsonl into one data file per numeric key. Returns the number of series, -1 on
// a bad line (reported with FILE:LINE).
static int read_metrics(const char *path, const char *out, series *s, int *nlines) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open (is RUN_DIR a fluxrl run folder?)\n", path);
        return -1;
    }
    int n = 0, lineno = 0, rc = 0;
    char *line = NULL;
    size_t cap = 0;
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (!cJSON_IsObject(j) || !cJSON_IsNumber(step)) {
            fprintf(stderr, "%s:%d: expected a JSON object with a numeric \"step\"\n", path, lineno);
            rc = -1;
        }
        for (const cJSON *v = j ? j->child : NULL; !rc && v; v = v->next) {
            if (v == step || !cJSON_IsNumber(v)) continue; // null (NaN) and text are not plotted
            if (!safe_name(v->string)) {
                fprintf(stderr, "%s:%d: %.40s: metric names are letters, digits, '_', '-' and '.'\n", path, lineno, v->string);
                rc = -1;
                break;
            }
            int k = 0;
            while (k < n && strcmp(s[k].name, v->string) != 0) k++;
            if (k == n) {
                if (n == MAX_KEYS) continue;
                snprintf(s[n].name, sizeof s[n].name, "%s", v->string);
                snprintf(s[n].data_path, sizeof s[n].data_path, "%s/.%s.dat", out, v->string);
                s[n].data = fopen(s[n].data_path, "w");
                s[n].points = 0;
                if (!s[n].data) {
                    fprintf(stderr, "%s: cannot create\n", s[n].data_path);
                    rc = -1;
                    break;
                }
                n++;
            }
            fprintf(s[k].data, "%.17g %.17g\n", step->valuedouble, v->valuedouble);
            s[k].points++;
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    for (int k = 0; k < n; k++) fclose(s[k].data);
    *nlines = lineno;
    return rc ? -1 : n;
}

int cmd_plot(int argc, char **argv) {
    const char *run = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-' && !run) run = argv[i];
        else {
            fprintf(stderr, "fluxrl plot: unexpected argument '%s'; see 'fluxrl plot --help'\n", argv[i]);
            return FX_EXIT_INPUT;
        }
    }
    if (!run) {
        fprintf(stderr, "fluxrl plot: RUN_DIR is required\n");
        return FX_EXIT_INPUT;
    }
    char metrics[4200], outdir[4200];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run);
    snprintf(outdir, sizeof outdir, "%s", out ? out : run);
    if (!out) snprintf(outdir, sizeof outdir, "%s/plots", run);
    fx_err err;
    if (fx_mkdir_p(outdir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    series *s = fx_calloc(MAX_KEYS, sizeof *s);
    int lines = 0, n = read_metrics(metrics, outdir, s, &lines);
    if (n <= 0) {
        if (n == 0) fprintf(stderr, "%s: no numeric metrics to plot\n", metrics);
        for (int k = 0; k < MAX_KEYS && s[k].name[0]; k++) remove(s[k].data_path);
        free(s);
        return FX_EXIT_INPUT;
    }
    char script[4400];
    snprintf(script, sizeof script, "%s/.plot.gp", outdir);
    FILE *g = fopen(script, "w");
    if (!g) {
        fprintf(stderr, "%s: cannot create\n", script);
        free(s);
        return FX_EXIT_FAIL;
    }
    fprintf(g, "set terminal pngcairo size 900,540 noenhanced\nset grid\nset xlabel 'step'\nset key off\n");
    for (int k = 0; k < n; k++)
        fprintf(g, "set output '%s/%s.png'\nset title '%s'\nplot '%s' using 1:2 with linespoints pt 7 ps 0.5\n", outdir,
                s[k].name, s[k].name, s[k].data_path);
    fclose(g);
    char cmd[9000], errlog[4500];
    snprintf(errlog, sizeof errlog, "%s/.plot.err", outdir);
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>'%s'", script, errlog); // its warnings (a flat curve) only on failure
    int status = system(cmd);
    remove(script);
    for (int k = 0; k < n; k++) remove(s[k].data_path);
    int code = FX_EXIT_OK;
    bool failed = status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (failed) {
        char *log = fx_read_file(errlog, NULL, &err);
        if (log) fputs(log, stderr);
        free(log);
    }
    remove(errlog);
    if (failed) {
        fprintf(stderr, "fluxrl plot: gnuplot failed (exit %d); is it installed? launch/deps.sh installs gnuplot-nox\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        code = FX_EXIT_FAIL;
    } else {
        printf("%d plots of %d steps in %s/\n", n, lines, outdir);
    }
    free(s);
    return code;
}
