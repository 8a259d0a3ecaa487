// folder_fixture.h — the files of a model folder laid out as a published checkpoint lays them
// out, for the tests that build one (test_prompt on Qwen's tokenizer, test_sft_data on the built-in
// one): any file, and tokenizer_config.json with the chat template beside generation_config.json.
// Include after test.h.
#ifndef FLUXRL_FOLDER_FIXTURE_H
#define FLUXRL_FOLDER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/fx.h"

#define FOLDER_TEMPLATES "tests/data/jinja/templates/"
// DeepSeek-R1-Distill-Qwen's tokenizer_config.json, but for its chat template: bos and eos as it
// names them, add_bos_token.
#define FOLDER_R1_CONFIG                                                                                              \
    "{\"bos_token\": \"<｜begin▁of▁sentence｜>\", \"eos_token\": \"<｜end▁of▁sentence｜>\", \"add_bos_token\": true, " \
    "\"add_eos_token\": false}"
#define FOLDER_R1_TEMPLATE "deepseek-r1-distill-qwen.jinja"

// Writes text to dir/name.
static inline void folder_put(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

// tokenizer_config.json (the JSON object config with the chat template of FOLDER_TEMPLATES/template
// added as chat_template) and generation_config.json (generation) in dir.
static inline void folder_chat_files(const char *dir, const char *config, const char *template,
                                     const char *generation) {
    char path[512];
    snprintf(path, sizeof path, FOLDER_TEMPLATES "%s", template);
    size_t n;
    fx_err err;
    char *src = fx_read_file(path, &n, &err);
    CHECK(src != NULL);
    cJSON *cfg = cJSON_Parse(config);
    CHECK(cfg != NULL);
    cJSON_AddStringToObject(cfg, "chat_template", src ? src : "");
    char *text = cJSON_Print(cfg);
    folder_put(dir, "tokenizer_config.json", text);
    free(text), free(src);
    cJSON_Delete(cfg);
    folder_put(dir, "generation_config.json", generation);
}

#endif
