// tok_template.c — the tokenizer's chat template: read from tokenizer_config.json (or
// chat_template.jinja), parsed at load by model/jinja.h, rendered with the variables transformers'
// apply_chat_template passes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

int tok_set_chat_template(tok_tokenizer *t, const char *src, const char *name, fx_err *err) {
    jinja_template *j;
    if (jinja_parse(&j, src, name, err)) return -1;
    jinja_free(t->chat);
    t->chat = j;
    return 0;
}

bool tok_has_chat_template(const tok_tokenizer *t) { return t->chat != NULL; }

int tok_config_chat_template(tok_tokenizer *t, const cJSON *cfg, const char *cfg_name, fx_err *err) {
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
    char name[1200];
    if (!ct || cJSON_IsNull(ct)) return 0;
    if (cJSON_IsString(ct)) {
        snprintf(name, sizeof name, "%s: chat_template", cfg_name);
        return tok_set_chat_template(t, ct->valuestring, name, err);
    }
    if (!cJSON_IsArray(ct))
        return fx_errf(err, "%s: chat_template: expected a string or a list of {\"name\", \"template\"}", cfg_name);
    // A list of named templates: transformers uses "default" unless told another name.
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ct) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name"), *s = cJSON_GetObjectItemCaseSensitive(e, "template");
        if (!cJSON_IsString(n) || !cJSON_IsString(s))
            return fx_errf(err, "%s: chat_template[%d]: expected {\"name\": string, \"template\": string}", cfg_name, i);
        if (!strcmp(n->valuestring, "default")) {
            snprintf(name, sizeof name, "%s: chat_template[%d].template", cfg_name, i);
            return tok_set_chat_template(t, s->valuestring, name, err);
        }
        i++;
    }
    return 0; // no default: the tokenizer has no chat template to apply
}

static void add_token(cJSON *vars, const tok_tokenizer *t, const char *key, int32_t id) {
    if (id < 0 || cJSON_GetObjectItemCaseSensitive(vars, key)) return;
    size_t n;
    const char *s = tok_token_bytes(t, id, &n);
    char *copy = fx_malloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    cJSON_AddStringToObject(vars, key, copy);
    free(copy);
}

char *tok_apply_chat_template(const tok_tokenizer *t, const cJSON *messages, bool add_generation_prompt,
                              const cJSON *extra_vars, fx_err *err) {
    if (!t->chat) {
        fx_errf(err, "the tokenizer has no chat template (tokenizer_config.json holds no chat_template)");
        return NULL;
    }
    if (!cJSON_IsArray(messages)) {
        fx_errf(err, "messages: expected an array of {\"role\", \"content\"} objects");
        return NULL;
    }
    cJSON *vars = cJSON_CreateObject();
    const cJSON *e;
    if (cJSON_IsObject(extra_vars))
        cJSON_ArrayForEach(e, extra_vars) {
            if (strcmp(e->string, "messages") && strcmp(e->string, "add_generation_prompt"))
                cJSON_AddItemToObject(vars, e->string, cJSON_Duplicate(e, true));
        }
    cJSON_AddItemToObject(vars, "messages", cJSON_Duplicate(messages, true));
    cJSON_AddBoolToObject(vars, "add_generation_prompt", add_generation_prompt);
    // transformers always passes tools and documents (None unless given)
    if (!cJSON_GetObjectItemCaseSensitive(vars, "tools")) cJSON_AddNullToObject(vars, "tools");
    if (!cJSON_GetObjectItemCaseSensitive(vars, "documents")) cJSON_AddNullToObject(vars, "documents");
    add_token(vars, t, "bos_token", t->bos);
    add_token(vars, t, "eos_token", t->eos);
    add_token(vars, t, "pad_token", t->pad);
    char *out = jinja_render(t->chat, vars, err);
    cJSON_Delete(vars);
    return out;
}

char *tok_chat_encode(tok_tokenizer *t, const cJSON *record, tok_ids *out, fx_err *err) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(record, "messages"), *e;
    if (!cJSON_IsArray(msgs)) {
        fx_errf(err, "field 'messages': expected an array of {\"role\", \"content\"} objects, got %s",
                msgs ? "another JSON type" : "nothing");
        return NULL;
    }
    int i = 0;
    cJSON_ArrayForEach(e, msgs) {
        if (!cJSON_IsObject(e) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "role"))) {
            fx_errf(err, "field 'messages[%d]': expected an object with a string 'role'", i);
            return NULL;
        }
        i++;
    }
    const cJSON *agp = cJSON_GetObjectItemCaseSensitive(record, "add_generation_prompt");
    if (agp && !cJSON_IsBool(agp)) {
        fx_errf(err, "field 'add_generation_prompt': expected true or false");
        return NULL;
    }
    char *text = tok_apply_chat_template(t, msgs, cJSON_IsTrue(agp), record, err);
    if (text) tok_encode(t, text, strlen(text), out);
    return text;
}
