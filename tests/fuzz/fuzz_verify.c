// fuzz_verify.c — libFuzzer target for the answer verifier (rollout/verify.h): the input is split
// at its first NUL byte into a response and a gold answer; extraction, normalisation and
// comparison never crash, and an answer that is not empty once normalised equals itself.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 2);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    const char *response = buf, *gold = buf + strlen(buf) + (strlen(buf) < size ? 1 : 0);
    char *x = NULL;
    (void)verify_response(response, gold, &x);
    free(x);
    char *e = verify_extract(response);
    if (e) {
        char *norm = verify_normalize(e);
        if (norm && norm[0] && !verify_equal(e, e)) abort(); // reflexive (an empty answer equals nothing)
        free(norm), free(e);
    }
    char *n = verify_normalize(gold);
    free(n);
    free(buf);
    return 0;
}
