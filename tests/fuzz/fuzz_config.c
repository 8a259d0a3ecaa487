// fuzz_config.c — libFuzzer target for run configs: any bytes as a config file's text must give a
// config or an error naming the source, never a crash; an accepted config serialises to JSON that
// loads back to the same JSON.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fx_config *c = malloc(sizeof *c), *d = malloc(sizeof *d);
    fx_err err;
    cfg_defaults(c);
    if (cfg_apply_json(c, (const char *)data, size, "fuzz.json", &err) == 0) {
        char *json = cfg_to_json(c);
        cfg_defaults(d);
        if (cfg_apply_json(d, json, strlen(json), "round trip", &err) != 0) abort();
        char *again = cfg_to_json(d);
        if (strcmp(json, again) != 0) abort();
        free(json), free(again);
    } else if (!strstr(err.msg, "fuzz.json")) {
        abort(); // an error names its source
    }
    free(c), free(d);
    return 0;
}
