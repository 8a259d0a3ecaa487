// fuzz_replay.c — runs a libFuzzer target over files named on the command line (the seed corpus),
// so the corpus is exercised by every build, sanitizers included.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        fx_err err;
        size_t len;
        char *buf = fx_read_file(argv[i], &len, &err);
        if (!buf) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        free(buf);
    }
    printf("fuzz_replay: %d passed, 0 failed\n", argc - 1);
    return 0;
}
