// tok_chat.c — the chat layouts as text; tok_encode then turns their special tokens into ids
// (added tokens are matched before anything else, so "<|im_start|>" is always one id).
#include <stdlib.h>
#include <string.h>

#include "tok.h"

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void add(sbuf *b, const char *s) {
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = 2 * (b->n + l) + 256;
        b->p = fx_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

static void turn(sbuf *b, const char *role, const char *content) {
    add(b, "<|im_start|>");
    add(b, role);
    add(b, "\n");
    add(b, content);
    add(b, "<|im_end|>\n");
}

int tok_chat_style_parse(const char *name, tok_chat_style *out) {
    if (strcmp(name, "chatml") == 0) return *out = TOK_CHAT_CHATML, 0;
    if (strcmp(name, "r1") == 0) return *out = TOK_CHAT_R1, 0;
    if (strcmp(name, "auto") == 0) return *out = TOK_CHAT_AUTO, 0;
    return -1;
}

char *tok_chat_format(const tok_message *msgs, int n, tok_chat_style style, bool add_generation_prompt) {
    sbuf b = {0};
    add(&b, "");
    for (int i = 0; i < n; i++) turn(&b, msgs[i].role, msgs[i].content);
    if (add_generation_prompt) {
        add(&b, "<|im_start|>assistant\n");
        if (style == TOK_CHAT_R1) add(&b, "<think>\n");
    }
    return b.p;
}

void tok_encode_prompt(tok_tokenizer *t, const char *text, tok_chat_style style, tok_ids *out) {
    tok_message msg = {"user", text};
    char *chat = tok_chat_format(&msg, 1, style, true);
    tok_encode(t, chat, strlen(chat), out);
    free(chat);
}

char *tok_prm_format(const char *system, const char *problem, const char *const *steps, int nsteps) {
    sbuf b = {0};
    add(&b, "");
    if (system) turn(&b, "system", system);
    turn(&b, "user", problem);
    add(&b, "<|im_start|>assistant\n");
    for (int i = 0; i < nsteps; i++) {
        add(&b, steps[i]);
        add(&b, "<extra_0>");
    }
    add(&b, "<|im_end|>\n");
    return b.p;
}

char *tok_prm_policy_format(const char *problem, const char *const *steps, int nsteps, size_t *begin) {
    tok_message msg = {"user", problem};
    char *prompt = tok_chat_format(&msg, 1, TOK_CHAT_R1, true);
    sbuf b = {0};
    add(&b, prompt);
    free(prompt);
    for (int i = 0; i < nsteps; i++) {
        if (i) add(&b, "\n\n");
        if (begin) begin[i] = b.n;
        add(&b, steps[i]);
    }
    if (begin) begin[nsteps] = b.n;
    add(&b, "<extra_0>");
    return b.p;
}

int tok_token_holding(const tok_tokenizer *t, const tok_ids *ids, size_t at) {
    size_t end = 0;
    for (size_t i = 0; i < ids->n; i++) {
        size_t len = 0;
        tok_token_bytes(t, ids->ids[i], &len);
        end += len;
        if (at < end) return (int)i;
    }
    return (int)ids->n - 1;
}
