// tok_prompt.c — prompts from problems: the checkpoint's chat template (or a fixed layout), the
// id that closes an assistant turn and the ids generation stops on, as the model folder publishes
// them (tokenizer_config.json, chat_template.jinja, generation_config.json).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok_internal.h"

bool tok_add_bos_token(const tok_tokenizer *t) { return t->add_bos; }

void tok_encode_special(tok_tokenizer *t, const char *text, size_t len, tok_ids *out) {
    if (t->add_bos && t->bos >= 0) tok_ids_push(out, t->bos);
    tok_encode(t, text, len, out);
}

static int push_eos(const tok_tokenizer *t, const cJSON *j, const char *file, const char *field, tok_ids *out,
                    fx_err *err) {
    if (!cJSON_IsNumber(j) || j->valuedouble != (double)(int32_t)j->valuedouble || j->valuedouble < 0)
        return fx_errf(err, "%s: %s: expected a token id (an integer >= 0)", file, field);
    int32_t id = (int32_t)j->valuedouble;
    size_t n;
    if (!tok_token_bytes(t, id, &n))
        return fx_errf(err, "%s: %s: %d is not a token id of the tokenizer (%d ids)", file, field, id,
                       tok_vocab_size(t));
    tok_ids_push(out, id);
    return 0;
}

int tok_generation_eos(const tok_tokenizer *t, const char *dir, tok_ids *out, fx_err *err) {
    if (!dir || !dir[0]) return 0;
    char file[4200];
    struct stat st;
    snprintf(file, sizeof file, "%s/generation_config.json", dir);
    if (stat(file, &st) != 0) return 0;
    cJSON *root = fx_read_json_object(file, err);
    if (!root) return -1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id"), *x;
    int rc = 0, i = 0;
    if (cJSON_IsArray(e)) {
        cJSON_ArrayForEach(x, e) {
            char field[64];
            snprintf(field, sizeof field, "eos_token_id[%d]", i++);
            if ((rc = push_eos(t, x, file, field, out, err))) break;
        }
    } else if (e && !cJSON_IsNull(e)) {
        rc = push_eos(t, e, file, "eos_token_id", out, err);
    }
    cJSON_Delete(root);
    return rc;
}

// Where the messages of a prompt come from: [system, user: problem] (+ assistant: answer).
static cJSON *conversation(const char *system, const char *problem, const char *answer) {
    cJSON *msgs = cJSON_CreateArray(), *m;
    if (system) {
        cJSON_AddItemToArray(msgs, m = cJSON_CreateObject());
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", system);
    }
    cJSON_AddItemToArray(msgs, m = cJSON_CreateObject());
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", problem);
    if (answer) {
        cJSON_AddItemToArray(msgs, m = cJSON_CreateObject());
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", answer);
    }
    return msgs;
}

char *tok_prompt_text_as(const tok_prompt *p, const tok_tokenizer *t, const char *system, const char *problem,
                         fx_err *err) {
    if (!system) system = p->system;
    if (p->style != TOK_CHAT_AUTO) {
        tok_message m[2] = {{"system", system}, {"user", problem}};
        return system ? tok_chat_format(m, 2, p->style, true) : tok_chat_format(m + 1, 1, p->style, true);
    }
    cJSON *msgs = conversation(system, problem, NULL);
    char *text = tok_apply_chat_template(t, msgs, true, p->vars, err);
    cJSON_Delete(msgs);
    return text;
}

char *tok_prompt_text(const tok_prompt *p, const tok_tokenizer *t, const char *problem, fx_err *err) {
    return tok_prompt_text_as(p, t, NULL, problem, err);
}

int tok_prompt_encode(const tok_prompt *p, tok_tokenizer *t, const char *problem, const char *cont, tok_ids *out,
                      fx_err *err) {
    return tok_prompt_encode_as(p, t, NULL, problem, cont, out, err);
}

int tok_prompt_encode_as(const tok_prompt *p, tok_tokenizer *t, const char *system, const char *problem,
                         const char *cont, tok_ids *out, fx_err *err) {
    char *text = tok_prompt_text_as(p, t, system, problem, err);
    if (!text) return -1;
    if (cont && cont[0]) {
        size_t n1 = strlen(text), n2 = strlen(cont);
        text = fx_realloc(text, n1 + n2 + 1);
        memcpy(text + n1, cont, n2 + 1);
    }
    if (p->style == TOK_CHAT_AUTO) tok_encode(t, text, strlen(text), out); // the template wrote bos
    else tok_encode_special(t, text, strlen(text), out);
    free(text);
    return 0;
}

bool tok_prompt_is_stop(const tok_prompt *p, int32_t id) {
    for (int i = 0; i < p->nstop; i++)
        if (p->stop[i] == id) return true;
    return false;
}

static void add_stop(tok_prompt *p, int32_t id) {
    if (id < 0 || tok_prompt_is_stop(p, id)) return;
    p->stop = fx_realloc(p->stop, (size_t)(p->nstop + 1) * sizeof *p->stop);
    p->stop[p->nstop++] = id;
}

// The first special token the template writes after an assistant message's content (<|im_end|>,
// <｜end▁of▁sentence｜>, <|eot_id|>, <end_of_turn>, ...); -1 when it writes none.
static int find_end_of_turn(tok_prompt *p, tok_tokenizer *t, const char *where, fx_err *err) {
    static const char answer[] = "fluxrl probe: 2+2=4";
    cJSON *msgs = conversation(p->system, "fluxrl probe: 2+2=?", answer);
    fx_err why;
    char *text = tok_apply_chat_template(t, msgs, false, p->vars, &why);
    cJSON_Delete(msgs);
    if (!text) return fx_errf(err, "%s = auto: %s", where, why.msg);
    const char *at = strstr(text, answer);
    p->end_of_turn = -1;
    if (at) {
        tok_ids ids = {0};
        const char *rest = at + sizeof answer - 1;
        tok_encode(t, rest, strlen(rest), &ids);
        for (size_t i = 0; i < ids.n && p->end_of_turn < 0; i++)
            if (tok_is_special(t, ids.ids[i])) p->end_of_turn = ids.ids[i];
        tok_ids_free(&ids);
    }
    free(text);
    return 0;
}

static int init_settings(tok_prompt *p, const tok_prompt_opts *o, fx_err *err) {
    if (tok_chat_style_parse(o->chat ? o->chat : "auto", &p->style))
        return fx_errf(err, "%s: expected auto, chatml or r1, got '%s'", o->chat_key, o->chat);
    if (o->system && o->system[0]) p->system = fx_strdup(o->system);
    if (o->vars && o->vars[0]) {
        p->vars = cJSON_Parse(o->vars);
        if (!cJSON_IsObject(p->vars))
            return fx_errf(err,
                           "%s: expected a JSON object of template variables such as {\"enable_thinking\": false}, "
                           "got '%.200s'",
                           o->vars_key, o->vars);
        if (p->style != TOK_CHAT_AUTO && cJSON_GetArraySize(p->vars) > 0)
            return fx_errf(err, "%s: template variables need %s = auto (the %s layout has no template)", o->vars_key,
                           o->chat_key, o->chat);
    }
    return 0;
}

int tok_prompt_init(tok_prompt *p, tok_tokenizer *t, const tok_prompt_opts *o, fx_err *err) {
    memset(p, 0, sizeof *p);
    p->end_of_turn = -1;
    const char *dir = o->dir ? o->dir : "(built-in)";
    if (init_settings(p, o, err)) goto fail;
    if (p->style == TOK_CHAT_AUTO) {
        if (!tok_has_chat_template(t)) {
            fx_errf(err,
                    "%s: the tokenizer has no chat template (no chat_template in tokenizer_config.json, no "
                    "chat_template.jinja); %s = auto needs one: set %s to chatml or r1 to choose a fixed layout",
                    dir, o->chat_key, o->chat_key);
            goto fail;
        }
        fx_err why;
        char *text = tok_prompt_text(p, t, "fluxrl probe: 2+2=?", &why);
        if (!text) {
            fx_errf(err, "%s = auto: %s", o->chat_key, why.msg);
            goto fail;
        }
        size_t n = strlen(text);
        p->opens_think = n >= 8 && !strcmp(text + n - 8, "<think>\n");
        free(text);
        if (find_end_of_turn(p, t, o->chat_key, err)) goto fail;
        if (p->end_of_turn < 0) p->end_of_turn = tok_eos(t);
        if (p->end_of_turn < 0) {
            fx_errf(err,
                    "%s: the chat template writes no special token after an assistant turn and tokenizer_config.json "
                    "names no eos_token: nothing would end a response",
                    dir);
            goto fail;
        }
    } else {
        p->opens_think = p->style == TOK_CHAT_R1;
        p->end_of_turn = tok_token_id(t, "<|im_end|>");
        if (p->end_of_turn < 0) {
            fx_errf(err, "%s: the tokenizer has no <|im_end|> token, which the %s = %s layout writes; use %s = auto",
                    dir, o->chat_key, o->chat, o->chat_key);
            goto fail;
        }
    }
    add_stop(p, p->end_of_turn);
    tok_ids gen = {0};
    int rc = tok_generation_eos(t, o->dir, &gen, err);
    for (size_t i = 0; i < gen.n; i++) add_stop(p, gen.ids[i]);
    tok_ids_free(&gen);
    if (rc) goto fail;
    add_stop(p, tok_eos(t));
    return 0;
fail:
    tok_prompt_free(p);
    return -1;
}

void tok_prompt_free(tok_prompt *p) {
    free(p->system);
    cJSON_Delete(p->vars);
    free(p->stop);
    memset(p, 0, sizeof *p);
    p->end_of_turn = -1;
}
