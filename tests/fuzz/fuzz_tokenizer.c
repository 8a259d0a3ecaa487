// fuzz_tokenizer.c — libFuzzer target for tokenizer files: the input is split at its first NUL
// byte into tokenizer.json and tokenizer_config.json; loading either gives a tokenizer or an
// error, never a crash, and a tokenizer that loads encodes and decodes a fixed text.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *json = (const char *)data, *cfg = NULL;
    size_t len = size, cfg_len = 0;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        len = (size_t)(nul - data);
        cfg = (const char *)nul + 1, cfg_len = size - len - 1;
    }
    tok_tokenizer *t;
    fx_err err;
    if (tok_load_json(&t, json, len, cfg, cfg_len, "fuzz", &err) == 0) {
        static const char text[] = "Compute 12+34-5.\n<think>\n12+34=46</think> The answer is 41. \xc3\xa9\xe2\x82\xac";
        tok_ids ids = {0};
        tok_encode(t, text, sizeof text - 1, &ids);
        for (size_t i = 0; i < ids.n; i++) {
            size_t n;
            (void)tok_token_bytes(t, ids.ids[i], &n);
        }
        tok_ids_free(&ids);
        tok_free(t);
    }
    return 0;
}
