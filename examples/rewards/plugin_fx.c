// plugin_fx.c — the few helpers of fluxrl's core/fx.c that the verifier sources call, for a plugin
// built from them (verifier_plugin.c): allocation that never returns NULL, and a fatal error.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fx.h"

void *fx_malloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) fx_fatal_at(file, line, FX_EXIT_FAIL, "out of memory allocating %zu bytes", size);
    return p;
}

char *fx_strdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    return memcpy(fx_malloc_at(n, file, line), s, n);
}

void fx_fatal_at(const char *file, int line, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "verifier_plugin: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (at %s:%d)\n", file, line);
    va_end(ap);
    exit(code);
}
