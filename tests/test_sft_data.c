// test_sft_data.c — the built-in task's SFT examples and the judging path of eval and generate:
// a gold response, turned into ids and back into text the way generated responses are, is judged
// correct (special tokens such as </think> must survive); batches train only on response tokens;
// a folder laid out like R1-Distill (no <|im_end|>) trains through its own template and eos.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/dataset.h"
#include "rollout/decode.h"
#include "test.h"
#include "folder_fixture.h"
#include "trainer/sft.h"

// The example stream of the default config (task.*, run.seed, model.max_seq) with prompts in the
// layout `chat` for the model folder dir (NULL: the built-in tokenizer).
static sft_task_params params(const char *dir, const char *chat, double error_rate) {
    return (sft_task_params){.ops = 3, .digits = 2, .operators = "+-", .error_rate = error_rate, .seed = 1234,
                             .max_seq = 256,
                             .prompt = {.chat = chat, .dir = dir, .chat_key = "task.chat", .system_key = "task.system",
                                        .vars_key = "task.chat_vars"}};
}

// A folder laid out like DeepSeek-R1-Distill-Qwen — its chat template, bos / eos named as it names
// them, add_bos_token, generation_config.json's eos_token_id, no <|im_end|> — on the built-in
// tokenizer's BPE: SFT examples are its template's prompt (bos once, the trajectory opened) and
// the trace closed by <｜end▁of▁sentence｜>, and a gold response is judged right.
static void test_r1_distill_layout(void) {
    char dir[] = "/tmp/test_sft_r1_XXXXXX", path[600];
    CHECK(mkdtemp(dir) != NULL);
    fx_err err;
    CHECK_INT(tok_write_builtin(dir, &err), 0);
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    size_t n;
    char *text = fx_read_file(path, &n, &err);
    cJSON *tj = cJSON_Parse(text);
    free(text);
    const char *names[] = {"<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>",
                           "<｜begin▁of▁sentence｜>"}; // ids 284..289
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(tj, "added_tokens")) {
        int id = cJSON_GetObjectItem(a, "id")->valueint;
        cJSON_ReplaceItemInObject(a, "content", cJSON_CreateString(names[id - 284]));
    }
    text = cJSON_PrintUnformatted(tj);
    folder_put(dir, "tokenizer.json", text);
    free(text);
    cJSON_Delete(tj);
    folder_chat_files(dir, FOLDER_R1_CONFIG, FOLDER_R1_TEMPLATE, "{\"bos_token_id\": 289, \"eos_token_id\": 284}");

    tok_tokenizer *tok;
    CHECK_INT(tok_load(&tok, dir, &err), 0);
    sft_task_params c = params(dir, "auto", 0);
    sft_task s;
    CHECK_INT(sft_task_init(&s, tok, &c, &err), 0);
    CHECK(s.prompt.opens_think);
    CHECK_INT(s.eos, 284);
    CHECK(s.prompt.nstop == 1 && s.prompt.stop[0] == 284);
    int right = 0;
    for (uint64_t i = 0; i < 5; i++) {
        tok_ids ids = {0};
        int np;
        sft_example(&s, i, &ids, &np);
        // <｜begin▁of▁sentence｜><｜User｜>Problem ...<｜Assistant｜><think>\n | trace</think>... <｜end▁of▁sentence｜>
        CHECK(ids.ids[0] == 289 && ids.ids[1] == 285 && ids.ids[2] != 289);
        CHECK(np > 3 && ids.ids[np - 3] == 286 && ids.ids[np - 2] == 287 && ids.ids[np - 1] == 10);
        CHECK_INT(ids.ids[ids.n - 1], 284);
        rollout_problem p = {.builtin = true};
        task_generate(&s.task, s.seed, i, &p.task);
        char *resp = rollout_response_text_stop(tok, ids.ids + np, (int)ids.n - np, s.prompt.stop, s.prompt.nstop);
        right += rollout_judge(&p, resp, s.prompt.opens_think, NULL);
        CHECK(strstr(resp, "</think>") != NULL && strstr(resp, "<｜end▁of▁sentence｜>") == NULL);
        free(resp);
        tok_ids_free(&ids);
    }
    CHECK_INT(right, 5);
    // the r1 layout needs <|im_end|>, which this tokenizer lacks
    sft_task_free(&s);
    c.prompt.chat = "r1";
    CHECK_INT(sft_task_init(&s, tok, &c, &err), -1);
    CHECK(strstr(err.msg, "the tokenizer has no <|im_end|> token") != NULL);
    tok_free(tok);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void) {
    fx_err err;
    tok_tokenizer *tok;
    CHECK_INT(tok_load_builtin(&tok, &err), 0);
    // style 0: r1; 1: chatml; 2: auto, the built-in tokenizer's chat template, which writes r1's
    // prompts: the same examples id for id.
    tok_ids r1_examples[20] = {{0}};
    for (int style = 0; style < 3; style++) {
        // gold traces only
        sft_task_params c = params(NULL, style == 0 ? "r1" : style == 1 ? "chatml" : "auto", 0);
        sft_task s;
        CHECK_INT(sft_task_init(&s, tok, &c, &err), 0);
        CHECK_INT(s.prompt.opens_think, style != 1);
        CHECK_INT(s.eos, tok_token_id(tok, "<|im_end|>"));
        CHECK_INT(s.prompt.nstop, 1);
        int judged_right = 0;
        for (uint64_t i = 0; i < 20; i++) {
            tok_ids ids = {0};
            int np;
            sft_example(&s, i, &ids, &np);
            CHECK(np > 0 && (int)ids.n > np && ids.ids[ids.n - 1] == s.eos);
            rollout_problem p = {.builtin = true};
            task_generate(&s.task, s.seed, i, &p.task);
            char *text = rollout_response_text(tok, ids.ids + np, (int)ids.n - np, s.eos);
            judged_right += rollout_judge(&p, text, style != 1, NULL);
            CHECK(strstr(text, "</think>") != NULL);
            CHECK(strstr(text, "<|im_end|>") == NULL);
            free(text);
            if (style == 0) r1_examples[i] = ids;
            else if (style == 2) {
                CHECK(ids.n == r1_examples[i].n && !memcmp(ids.ids, r1_examples[i].ids, ids.n * sizeof *ids.ids));
                tok_ids_free(&r1_examples[i]);
            }
            if (style != 0) tok_ids_free(&ids);
        }
        CHECK_INT(judged_right, 20);
        // A batch: targets only inside responses, padding in segment -1.
        enum { B = 4, T = 256 };
        static int32_t ids[B * T], pos[B * T], seg[B * T], tgt[B * T];
        uint64_t next = 0;
        int64_t ntgt;
        int Tb = sft_batch(&s, &next, B, ids, pos, seg, tgt, &ntgt);
        CHECK(Tb > 0 && Tb <= T);
        CHECK_INT(next, 4);
        int64_t count = 0, bad = 0;
        for (int b = 0; b < B; b++) {
            tok_ids ex = {0};
            int np;
            sft_example(&s, (uint64_t)b, &ex, &np);
            for (int t = 0; t < Tb; t++) {
                size_t k = (size_t)b * Tb + (size_t)t;
                bool in_resp = t + 1 >= np && t + 1 < (int)ex.n;
                bad += in_resp ? tgt[k] != ex.ids[t + 1] : tgt[k] != -1;
                bad += t < (int)ex.n ? (seg[k] != 0 || pos[k] != t || ids[k] != ex.ids[t]) : seg[k] != -1;
                count += tgt[k] >= 0;
            }
            tok_ids_free(&ex);
        }
        CHECK_INT(bad, 0);
        CHECK_INT(count, ntgt);
        sft_task_free(&s);
    }
    // Step rewards on tokens: a gold trace's steps are all right and cover the response; a trace
    // with injected errors gets 0 exactly where the generator made the mistakes.
    sft_task_params c = params(NULL, "auto", 0.5);
    sft_task s;
    CHECK_INT(sft_task_init(&s, tok, &c, &err), 0);
    int agree = 0, tried = 0;
    for (uint64_t i = 0; i < 30; i++) {
        tok_ids ids = {0};
        int np;
        sft_example(&s, i, &ids, &np);
        task_problem p;
        task_generate(&s.task, s.seed, i, &p);
        task_trace t;
        task_trace_make(&p, &s.task, s.seed, i, &t);
        int32_t ends[16];
        float rew[16];
        int R = (int)ids.n - np;
        int n = sft_step_rewards(&s, &p, ids.ids + np, R, 16, ends, rew);
        bool same = n == t.nsteps && ends[n - 1] == R;
        for (int k = 0; same && k < n; k++) same = (rew[k] > 0) == t.step_correct[k] && (k == 0 || ends[k] > ends[k - 1]);
        agree += same;
        tried++;
        task_trace_free(&t);
        tok_ids_free(&ids);
    }
    CHECK_INT(agree, tried);
    sft_task_free(&s);
    tok_free(tok);
    test_r1_distill_layout();
    return test_summary("test_sft_data");
}
