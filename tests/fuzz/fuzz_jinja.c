// fuzz_jinja.c — libFuzzer target for the chat-template parser and renderer: any bytes as a
// template must parse or be refused with a message, and what parses must render or fail with a
// message (over a fixed conversation), never crash. Built with -DFLUXRL_FUZZ=ON under clang;
// without libFuzzer the same entry point is driven over the real templates by fuzz_replay.c.
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/jinja.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cJSON *vars;
    if (!vars)
        vars = cJSON_Parse("{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": "
                           "\"<think>a</think>b\"}, {\"role\": \"assistant\", \"content\": \"c\", \"tool_calls\": [{\"id\": "
                           "\"call12345\", \"function\": {\"name\": \"f\", \"arguments\": {\"x\": 1}}}]}], "
                           "\"add_generation_prompt\": true, \"tools\": null, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}");
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';
    jinja_template *t;
    fx_err err;
    if (jinja_parse(&t, src, "fuzz", &err) == 0) {
        char *out = jinja_render(t, vars, &err);
        if (!out && !err.msg[0]) abort(); // a failure always says why
        free(out);
        jinja_free(t);
    } else if (!err.msg[0]) {
        abort();
    }
    free(src);
    return 0;
}
