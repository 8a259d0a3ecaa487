// test_config.c — the config schema: a valid file, every kind of error, overrides, suggestions,
// the resolved config written to the run folder.
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include <cjson/cJSON.h>

#include "test.h"

static fx_config cfg;

// Applies `json` on top of the defaults; returns the error message ("" when it was accepted).
static const char *apply(const char *json) {
    static fx_err err;
    err.msg[0] = '\0';
    cfg_defaults(&cfg);
    if (cfg_apply_json(&cfg, json, strlen(json), "t.json", &err) == 0) return "";
    return err.msg;
}

static const char *set(const char *assignment) {
    static fx_err err;
    err.msg[0] = '\0';
    if (cfg_set(&cfg, assignment, &err) == 0) return "";
    return err.msg;
}

static void test_defaults(void) {
    cfg_defaults(&cfg);
    CHECK_STR(cfg.run.name, "fluxrl");
    CHECK_STR(cfg.run.out_dir, "runs");
    CHECK_INT(cfg.run.seed, 1234);
    CHECK_STR(cfg.log.level, "info");
    CHECK(cfg.log.all_ranks == false);
    CHECK_NEAR(cfg.log.progress_interval, 10.0, 0);
    CHECK_INT(cfg.cluster.trainer_ranks, 1);
    CHECK_INT(cfg.cluster.reward_ranks, 1);
    CHECK_STR(cfg.cluster.backend, "cpu");
    CHECK_STR(cfg.task.chat, "auto");
    CHECK_STR(cfg.task.system, "");
    int n;
    const fx_cfg_key *keys = cfg_keys(&n);
    CHECK(n >= 13);
    for (int i = 0; i < n; i++) CHECK(cfg_find(keys[i].key) == &keys[i]);
    CHECK(cfg_find("run.nope") == NULL);
}

static void test_valid(void) {
    CHECK_STR(apply("{\"run\": {\"name\": \"x\", \"seed\": 7},\n"
                    " \"cluster\": {\"rollout_ranks\": 2, \"backend\": \"cuda\", \"threads\": 3},\n"
                    " \"log\": {\"progress_interval\": 0.5, \"all_ranks\": true, \"level\": \"debug\"}}"),
              "");
    CHECK_STR(cfg.run.name, "x");
    CHECK_INT(cfg.run.seed, 7);
    CHECK_INT(cfg.cluster.rollout_ranks, 2);
    CHECK_INT(cfg.cluster.trainer_ranks, 1); // untouched: default
    CHECK_INT(cfg.cluster.threads, 3);
    CHECK_STR(cfg.cluster.backend, "cuda");
    CHECK_NEAR(cfg.log.progress_interval, 0.5, 0);
    CHECK(cfg.log.all_ranks);
    CHECK_STR(cfg.log.level, "debug");
    CHECK_STR(apply("{}"), "");
    CHECK_STR(apply("{\"run\": {}}\n\n"), "");
    CHECK_STR(apply("{\"run\": {\"seed\": 9007199254740991}}"), "");
    CHECK_INT(cfg.run.seed, 9007199254740991LL);
    CHECK_STR(apply("{\"run\": {\"seed\": 1e3}}"), ""); // an integral number, however written
    CHECK_INT(cfg.run.seed, 1000);
}

static void test_malformed(void) {
    CHECK_STR(apply("{\n  \"run\": {\n    \"name\": \"x\"\n    \"seed\": 1\n  }\n}"),
              "t.json:4:5: malformed JSON near \"\"seed\": 1\n  }\n}\"");
    CHECK_STR(apply("{\"run\": {\"seed\": 1,}}"), "t.json:1:21: malformed JSON near \"}\"");
    CHECK_STR(apply(""), "t.json: empty file; expected a JSON object");
    CHECK_STR(apply(" \n\t"), "t.json: empty file; expected a JSON object");
    CHECK_STR(apply("{} {}"), "t.json:1:4: unexpected text after the JSON object");
    // The text need not end in NUL: nothing is read past len (found by tests/fuzz/fuzz_config.c;
    // the sanitizer build sees any overread of these exact-size buffers).
    const char *cases[4] = {"{}", " ", "{} x", "{\"run\": 1"};
    const char *want[4] = {"", "t.json: empty file; expected a JSON object",
                           "t.json:1:4: unexpected text after the JSON object", "t.json:1:9: malformed JSON near \"1\""};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(cases[i]);
        char *exact = malloc(n);
        memcpy(exact, cases[i], n);
        fx_err err = {{0}};
        cfg_defaults(&cfg);
        int rc = cfg_apply_json(&cfg, exact, n, "t.json", &err);
        CHECK_STR(rc ? err.msg : "", want[i]);
        free(exact);
    }
    CHECK_STR(apply("[1, 2]"), "t.json: expected a JSON object of sections at the top, got an array [1,2]");
    CHECK_STR(apply("{\"run\": 3}"), "t.json: run: expected an object (a section of keys), got 3");
}

static void test_unknown_keys(void) {
    CHECK_STR(apply("{\"clustr\": {}}"), "t.json: clustr: unknown key; did you mean cluster?");
    CHECK_STR(apply("{\"cluster\": {\"rollout_rank\": 2}}"),
              "t.json: cluster.rollout_rank: unknown key; did you mean cluster.rollout_ranks?");
    CHECK_STR(apply("{\"run\": {\"trainer_ranks\": 2}}"),
              "t.json: run.trainer_ranks: unknown key; did you mean cluster.trainer_ranks?");
    CHECK_STR(apply("{\"zzzzzz\": {}}"), "t.json: zzzzzz: unknown key (see `fluxrl config doc` for the valid keys)");
    CHECK_STR(apply("{\"run\": {\"name\": \"a\", \"name\": \"b\"}}"), "t.json: run.name: key given twice");
    CHECK_STR(apply("{\"run\": {}, \"run\": {}}"), "t.json: run: key given twice");
}

static void test_types_and_ranges(void) {
    CHECK_STR(apply("{\"run\": {\"seed\": \"7\"}}"),
              "t.json: run.seed: expected an integer in [0, 9007199254740991], got \"7\"");
    CHECK_STR(apply("{\"run\": {\"seed\": 1.5}}"), "t.json: run.seed: expected an integer in [0, 9007199254740991], got 1.5");
    CHECK_STR(apply("{\"run\": {\"seed\": -1}}"), "t.json: run.seed: expected an integer in [0, 9007199254740991], got -1");
    CHECK_STR(apply("{\"log\": {\"progress_interval\": 0}}"),
              "t.json: log.progress_interval: expected a number in (0, 86400], got 0");
    CHECK_STR(apply("{\"cluster\": {\"trainer_ranks\": 0}}"),
              "t.json: cluster.trainer_ranks: expected an integer in [1, 65536], got 0");
    CHECK_STR(apply("{\"cluster\": {\"backend\": \"tpu\"}}"),
              "t.json: cluster.backend: expected one of \"cpu\", \"cuda\", got \"tpu\"");
    CHECK_STR(apply("{\"log\": {\"all_ranks\": 1}}"), "t.json: log.all_ranks: expected true or false, got 1");
    CHECK_STR(apply("{\"run\": {\"name\": null}}"), "t.json: run.name: expected a string, got null");
    CHECK_STR(apply("{\"run\": {\"name\": [\"a\"]}}"), "t.json: run.name: expected a string, got an array [\"a\"]");
    char big[700] = "{\"run\": {\"name\": \"";
    size_t n = strlen(big);
    memset(big + n, 'a', 600);
    strcpy(big + n + 600, "\"}}");
    CHECK_STR(apply(big), "t.json: run.name: expected a string of at most 511 bytes, got 600 bytes");
    // task.chat_vars: a JSON object's text, given as a string or (in a file) as the object itself
    CHECK_STR(apply("{\"task\": {\"chat_vars\": {\"enable_thinking\": false}}}"), "");
    CHECK_STR(cfg.task.chat_vars, "{\"enable_thinking\":false}");
    CHECK_STR(apply("{\"task\": {\"chat_vars\": \"{\\\"enable_thinking\\\": false}\"}}"), "");
    CHECK_STR(cfg.task.chat_vars, "{\"enable_thinking\": false}");
    CHECK_STR(apply("{\"task\": {\"system\": {\"a\": 1}}}"), "t.json: task.system: expected a string, got an object {\"a\":1}");
    CHECK_STR(apply("{\"task\": {\"chat\": \"llama\"}}"),
              "t.json: task.chat: expected one of \"auto\", \"chatml\", \"r1\", got \"llama\"");
}

static void test_overrides(void) {
    cfg_defaults(&cfg);
    CHECK_STR(set("run.seed=42"), "");
    CHECK_INT(cfg.run.seed, 42);
    CHECK_STR(set("run.seed=43"), ""); // later wins
    CHECK_INT(cfg.run.seed, 43);
    CHECK_STR(set("cluster.backend=cuda"), "");
    CHECK_STR(cfg.cluster.backend, "cuda");
    CHECK_STR(set("log.all_ranks=true"), "");
    CHECK(cfg.log.all_ranks);
    CHECK_STR(set("log.progress_interval=2.5"), "");
    CHECK_NEAR(cfg.log.progress_interval, 2.5, 0);
    CHECK_STR(set("run.description=a=b c"), ""); // only the first '=' splits
    CHECK_STR(cfg.run.description, "a=b c");
    CHECK_STR(set("run.seed=abc"), "--set: run.seed: expected an integer in [0, 9007199254740991], got \"abc\"");
    CHECK_STR(set("run.seed=1.5"), "--set: run.seed: expected an integer in [0, 9007199254740991], got \"1.5\"");
    CHECK_STR(set("run.seed="), "--set: run.seed: expected an integer in [0, 9007199254740991], got \"\"");
    CHECK_STR(set("log.all_ranks=yes"), "--set: log.all_ranks: expected true or false, got \"yes\"");
    CHECK_STR(set("log.progress_interval=nan"), "--set: log.progress_interval: expected a number in (0, 86400], got \"nan\"");
    CHECK_STR(set("run.sed=1"), "--set: run.sed: unknown key; did you mean run.seed?");
    CHECK_STR(set("noequals"), "--set noequals: expected section.key=value");
    CHECK_STR(set("=3"), "--set =3: expected section.key=value");
    CHECK_INT(cfg.run.seed, 43); // failed overrides changed nothing
    char *sets[] = {"run.name=b", "cluster.rollout_ranks=5"};
    fx_err err;
    CHECK_INT(cfg_resolve(&cfg, NULL, 2, sets, &err), 0);
    CHECK_STR(cfg.run.name, "b");
    CHECK_INT(cfg.cluster.rollout_ranks, 5);
    CHECK_INT(cfg.run.seed, 1234); // resolve starts from the defaults
    CHECK_INT(cfg_resolve(&cfg, "/nonexistent/x.json", 0, NULL, &err), -1);
    CHECK_STR(err.msg, "/nonexistent/x.json: cannot open: No such file or directory");
}

static void test_round_trip_and_write(void) {
    CHECK_STR(apply("{\"run\": {\"name\": \"rt\", \"seed\": 99, \"description\": \"q\\\"uote\"},"
                    " \"log\": {\"progress_interval\": 0.1}}"),
              "");
    char *a = cfg_to_json(&cfg);
    fx_config again;
    fx_err err;
    cfg_defaults(&again);
    CHECK_INT(cfg_apply_json(&again, a, strlen(a), "resolved", &err), 0);
    char *b = cfg_to_json(&again);
    CHECK_STR(a, b);

    char dir[] = "/tmp/fluxrl-test-config-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cfg.run.out_dir, sizeof cfg.run.out_dir, "%s/runs/nested", dir);
    CHECK_INT(cfg_write_resolved(&cfg, &err), 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/runs/nested/rt/config.json", dir);
    size_t len;
    char *written = fx_read_file(path, &len, &err);
    char *want = cfg_to_json(&cfg);
    CHECK(written != NULL);
    CHECK(written && len == strlen(want) + 1 && strncmp(written, want, strlen(want)) == 0);
    // Nothing but config.json in the run folder: no temporary file left behind.
    snprintf(path, sizeof path, "%s/runs/nested/rt", dir);
    DIR *d = opendir(path);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') {
            files++;
            CHECK_STR(e->d_name, "config.json");
        }
    if (d) closedir(d);
    CHECK_INT(files, 1);
    // fx_read_json_object / fx_write_json_atomic: the object back as written; anything but an
    // object, or no file, is an error naming the file.
    snprintf(path, sizeof path, "%s/runs/nested/rt/config.json", dir);
    cJSON *obj = fx_read_json_object(path, &err);
    CHECK(obj != NULL);
    char jpath[1200];
    snprintf(jpath, sizeof jpath, "%s/again.json", dir);
    CHECK_INT(fx_write_json_atomic(jpath, obj, &err), 0);
    cJSON *back = fx_read_json_object(jpath, &err);
    CHECK(back != NULL && cJSON_Compare(obj, back, true));
    cJSON_Delete(obj), cJSON_Delete(back);
    CHECK_INT(fx_write_file_atomic(jpath, "[1, 2]", 6, &err), 0);
    CHECK(fx_read_json_object(jpath, &err) == NULL);
    char want_err[1300];
    snprintf(want_err, sizeof want_err, "%s: malformed JSON; expected a JSON object", jpath);
    CHECK_STR(err.msg, want_err);
    snprintf(jpath, sizeof jpath, "%s/none.json", dir);
    CHECK(fx_read_json_object(jpath, &err) == NULL && strstr(err.msg, jpath) != NULL);
    // A run folder that cannot be made is an error naming it.
    snprintf(cfg.run.out_dir, sizeof cfg.run.out_dir, "%s/runs/nested/rt/config.json", dir);
    CHECK_INT(cfg_write_resolved(&cfg, &err), -1);
    CHECK(strstr(err.msg, "config.json/rt: cannot create directory") != NULL);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
    free(a), free(b), free(written), free(want);
}

static void test_doc(void) {
    char *doc = cfg_doc_markdown();
    int n;
    const fx_cfg_key *keys = cfg_keys(&n);
    for (int i = 0; i < n; i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "| `%s` |", keys[i].key);
        CHECK(strstr(doc, cell) != NULL);
    }
    CHECK(strstr(doc, "| `cluster.backend` | enum | `\"cpu\"` | one of \"cpu\", \"cuda\" |") != NULL);
    CHECK(strstr(doc, "| `run.seed` | integer | `1234` | an integer in [0, 9007199254740991] |") != NULL);
    free(doc);
    CHECK_INT(cfg_edit_distance("kitten", "sitting"), 3);
    CHECK_INT(cfg_edit_distance("", "abc"), 3);
    CHECK_INT(cfg_edit_distance("same", "same"), 0);
}

// fx_split_list / fx_parse_floats: the one comma-list reader of the CLI (--experts, --preference,
// merge --weights) and the config (pcm.experts, pcm.preference).
static void test_lists(void) {
    char buf[64], *items[3];
    fx_err err;
    CHECK_INT(fx_split_list("k", "a,bb,c", buf, sizeof buf, items, 3, &err), 3);
    CHECK_STR(items[0], "a");
    CHECK_STR(items[1], "bb");
    CHECK_STR(items[2], "c");
    char in_place[] = "x,y";
    CHECK_INT(fx_split_list("k", in_place, in_place, sizeof in_place, items, 3, &err), 2);
    CHECK(items[0] == in_place && !strcmp(items[1], "y"));
    CHECK_INT(fx_split_list("k", "a,b,c,d", buf, sizeof buf, items, 3, &err), -1);
    CHECK_STR(err.msg, "k: expected at most 3 items");
    CHECK_INT(fx_split_list("k", "a,,b", buf, sizeof buf, items, 3, &err), -1);
    CHECK_STR(err.msg, "k: item 2: expected a value, got an empty one");
    CHECK_INT(fx_split_list("k", "", buf, sizeof buf, items, 3, &err), -1);
    CHECK_STR(err.msg, "k: item 1: expected a value, got an empty one");
    CHECK_INT(fx_split_list("k", "abcdefgh", buf, 8, items, 3, &err), -1);
    CHECK_STR(err.msg, "k: expected at most 7 characters, got 8");
    float w[3];
    CHECK_INT(fx_parse_floats("w", "0.25,1e-1,-2", w, 3, &err), 3);
    CHECK(w[0] == 0.25f && w[1] == 0.1f && w[2] == -2.0f);
    CHECK_INT(fx_parse_floats("w", "0.5,x", w, 3, &err), -1);
    CHECK_STR(err.msg, "w: item 2: expected a number, got \"x\"");
    CHECK_INT(fx_parse_floats("w", "1 ,2", w, 3, &err), -1);
    CHECK_STR(err.msg, "w: item 1: expected a number, got \"1 \"");
}

int main(void) {
    test_defaults();
    test_valid();
    test_malformed();
    test_unknown_keys();
    test_types_and_ranges();
    test_overrides();
    test_round_trip_and_write();
    test_doc();
    test_lists();
    return test_summary("test_config");
}
