// test_safetensors.c — safetensors reading, writing and validation; fp16/bf16 conversions;
// Hugging Face config.json parsing.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model_config.h"
#include "model/safetensors.h"
#include "test.h"

static char dir[] = "/tmp/fluxrl-test-st-XXXXXX";

static const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

// A file of: 8-byte header length (hlen, or strlen(header) when hlen == 0), header, `data` bytes.
static const char *write_raw(const char *name, const char *header, uint64_t hlen, size_t data) {
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!hlen) hlen = strlen(header);
    for (int i = 0; i < 8; i++) fputc((int)((hlen >> (8 * i)) & 0xff), f);
    fputs(header, f);
    for (size_t i = 0; i < data; i++) fputc((int)(i & 0xff), f);
    fclose(f);
    return path;
}

static void write_text(const char *name, const char *text) {
    FILE *f = fopen(tmp_path(name), "w");
    fputs(text, f);
    fclose(f);
}

// Opens path and returns the error message, "" when it opened.
static const char *open_err(const char *path) {
    static fx_err err;
    st_archive a;
    err.msg[0] = '\0';
    if (st_open(&a, path, &err) == 0) st_close(&a);
    return err.msg;
}

#define CHECK_ERR(path, needle)                                                                \
    do {                                                                                       \
        const char *msg_ = open_err(path);                                                     \
        if (!strstr(msg_, needle)) fprintf(stderr, "  message was: \"%s\"\n", msg_);          \
        CHECK(strstr(msg_, needle) != NULL);                                                   \
    } while (0)

static void test_conversions(void) {
    // Every finite f16 survives f16 -> f32 -> f16; midpoints round to the even neighbour.
    int bad_round_trip = 0, bad_midpoint = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue; // inf and NaN below
        float f = st_f16_to_f32((uint16_t)h);
        bad_round_trip += st_f32_to_f16(f) != h;
        if ((h & 0x7fff) == 0x7bff) continue; // 65504: no finite neighbour above
        float g = st_f16_to_f32((uint16_t)(h + 1));
        float mid = (float)(((double)f + (double)g) / 2); // exact in fp32
        if ((h & 0x7fff) == 0x7fff || (h & 0x8000) != ((h + 1) & 0x8000)) continue;
        uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        bad_midpoint += st_f32_to_f16(mid) != want;
    }
    CHECK_INT(bad_round_trip, 0);
    CHECK_INT(bad_midpoint, 0);
    CHECK_INT(st_f32_to_f16(65504.0f), 0x7bff);
    CHECK_INT(st_f32_to_f16(65519.0f), 0x7bff);
    CHECK_INT(st_f32_to_f16(65520.0f), 0x7c00); // rounds up to inf
    CHECK_INT(st_f32_to_f16(1e10f), 0x7c00);
    CHECK_INT(st_f32_to_f16(-INFINITY), 0xfc00);
    CHECK_INT(st_f32_to_f16(NAN) & 0x7e00, 0x7e00);
    CHECK_INT(st_f32_to_f16(-0.0f), 0x8000);
    CHECK_INT(st_f32_to_f16(0x1p-24f), 0x0001);
    CHECK_INT(st_f32_to_f16(0x1p-25f), 0x0000);        // tie: to even (zero)
    CHECK_INT(st_f32_to_f16(0x1.8p-24f), 0x0002);      // 1.5 ulp: tie to even (2)
    CHECK_INT(st_f32_to_f16(0x1.ffcp-15f), 0x0400);    // largest subnormal + half ulp rounds to 2^-14
    CHECK(st_f16_to_f32(0x3c00) == 1.0f && st_f16_to_f32(0xc000) == -2.0f && st_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(isnan(st_f16_to_f32(0x7e00)) && isinf(st_f16_to_f32(0x7c00)));
    // bf16: every bf16 survives; midpoints round to even.
    int bad_bf = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80) continue;
        float f = st_bf16_to_f32((uint16_t)h);
        bad_bf += st_f32_to_bf16(f) != h;
        if ((h & 0x7fff) == 0x7f7f) continue;
        uint32_t u;
        memcpy(&u, &f, 4);
        u += 0x8000; // the midpoint to the next bf16 up in magnitude
        float mid;
        memcpy(&mid, &u, 4);
        uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        bad_bf += st_f32_to_bf16(mid) != want;
    }
    CHECK_INT(bad_bf, 0);
    CHECK_INT(st_f32_to_bf16(1.0f), 0x3f80);
    CHECK(isnan(st_bf16_to_f32(st_f32_to_bf16(NAN))));
}

static void test_round_trip(void) {
    float a[6] = {1, -2, 3.5f, 0.1f, 1e-8f, 65536.0f}, b[3] = {7, 8, 9}, empty[1] = {0};
    st_entry e[3] = {{"w.a", 2, {2, 3}, a}, {"w.b", 1, {3}, b}, {"w.empty", 2, {0, 4}, empty}};
    fx_err err;
    st_dtype dts[3] = {ST_F32, ST_BF16, ST_F16};
    for (int d = 0; d < 3; d++) {
        const char *path = tmp_path("rt.safetensors");
        CHECK_INT(st_save(path, e, 3, dts[d], &err), 0);
        st_archive ar;
        CHECK_INT(st_open(&ar, path, &err), 0);
        CHECK_INT(ar.ntensors, 3);
        const st_tensor *t = st_find(&ar, "w.a");
        CHECK(t && t->dtype == dts[d] && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
        CHECK(t && ((uintptr_t)t->data - (uintptr_t)ar.maps[0]) % 8 == 0); // data 8-byte aligned
        float out[6];
        int64_t shape[2] = {2, 3};
        CHECK_INT(st_read_f32(&ar, "w.a", 2, shape, out, &err), 0);
        int mismatches = 0;
        for (int i = 0; i < 6; i++) {
            float want = dts[d] == ST_F32 ? a[i] : dts[d] == ST_BF16 ? st_bf16_to_f32(st_f32_to_bf16(a[i]))
                                                                     : st_f16_to_f32(st_f32_to_f16(a[i]));
            mismatches += memcmp(&out[i], &want, 4) != 0;
        }
        CHECK_INT(mismatches, 0);
        int64_t s3[1] = {3}, s0[2] = {0, 4}, wrong[2] = {3, 2};
        CHECK_INT(st_read_f32(&ar, "w.b", 1, s3, out, &err), 0);
        CHECK(out[0] == 7 && out[2] == 9);
        CHECK_INT(st_read_f32(&ar, "w.empty", 2, s0, out, &err), 0);
        CHECK_INT(st_read_f32(&ar, "w.a", 2, wrong, out, &err), -1);
        CHECK(strstr(err.msg, "rt.safetensors: tensor w.a: shape [2, 3], expected [3, 2]") != NULL);
        CHECK_INT(st_read_f32(&ar, "w.c", 1, s3, out, &err), -1);
        CHECK(strstr(err.msg, "rt.safetensors: tensor w.c: missing") != NULL);
        st_close(&ar);
    }
    // No temporary file is left next to the checkpoint.
    CHECK(access(tmp_path("rt.safetensors"), F_OK) == 0);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep tmp)\"", dir);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(st_save(tmp_path("i.safetensors"), e, 1, ST_I32, &err), -1);
    CHECK_INT(st_save("/nonexistent/dir/x.safetensors", e, 1, ST_F32, &err), -1);
    CHECK(strstr(err.msg, "cannot create") != NULL);
}

static void test_bad_files(void) {
    FILE *f = fopen(tmp_path("short.safetensors"), "wb");
    fputs("abc", f);
    fclose(f);
    CHECK_ERR(tmp_path("short.safetensors"), "short.safetensors: 3 bytes: too short for a safetensors file");
    CHECK_ERR(write_raw("huge.safetensors", "{}", 1ull << 40, 0), "huge.safetensors: header of 1099511627776 bytes is larger");
    CHECK_ERR(write_raw("past.safetensors", "{}", 100, 0), "past.safetensors: header of 100 bytes runs past the end of the file");
    CHECK_ERR(write_raw("json.safetensors", "{\"a\": ", 0, 0), "json.safetensors: header: malformed JSON");
    CHECK_ERR(write_raw("arr.safetensors", "[1]", 0, 0), "arr.safetensors: header: expected a JSON object");
    CHECK_ERR(write_raw("trail.safetensors", "{} x", 0, 0), "trail.safetensors: header: malformed JSON");
    CHECK_ERR(write_raw("dt.safetensors", "{\"t\": {\"dtype\": \"F8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 0, 1),
              "dt.safetensors: tensor t: dtype: unsupported \"F8\"");
    CHECK_ERR(write_raw("nodt.safetensors", "{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 0, 4),
              "tensor t: dtype: expected a string");
    CHECK_ERR(write_raw("trunc.safetensors", "{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 0, 10),
              "trunc.safetensors: tensor t: data_offsets [0, 16] run past the end of the data (10 bytes): truncated file?");
    CHECK_ERR(write_raw("size.safetensors", "{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 0, 8),
              "tensor t: data_offsets hold 8 bytes but its shape and dtype F32 need 12");
    CHECK_ERR(write_raw("neg.safetensors", "{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 0]}}", 0, 0),
              "tensor t: shape: expected non-negative integers");
    CHECK_ERR(write_raw("offs.safetensors", "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 0, 8),
              "tensor t: data_offsets: expected [begin, end]");
    CHECK_ERR(write_raw("big.safetensors",
                        "{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296], \"data_offsets\": [0, 0]}}",
                        0, 0),
              "tensor t: shape: too many elements");
    CHECK_ERR(write_raw("overlap.safetensors",
                        "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                        " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                        0, 12),
              "overlap.safetensors: tensors a and b overlap in the data section");
    CHECK_ERR(write_raw("dup.safetensors",
                        "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                        " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
                        0, 8),
              "dup.safetensors: tensor a: listed twice");
    CHECK_ERR(write_raw("meta.safetensors", "{\"__metadata__\": {\"x\": 1}}", 0, 0), "__metadata__.x: expected a string");
    CHECK_STR(open_err(write_raw("ok.safetensors", "{\"__metadata__\": {\"format\": \"pt\"}}  ", 0, 0)), "");
    // An integer tensor opens but is not read as weights.
    const char *ints = write_raw("int.safetensors", "{\"i\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 0, 8);
    st_archive a;
    fx_err err;
    CHECK_INT(st_open(&a, ints, &err), 0);
    float out[2];
    int64_t two[1] = {2};
    CHECK_INT(st_read_f32(&a, "i", 1, two, out, &err), -1);
    CHECK(strstr(err.msg, "tensor i: dtype I32, expected a floating-point dtype") != NULL);
    st_close(&a);
    CHECK_ERR(tmp_path("missing.safetensors"), "missing.safetensors: cannot open: No such file or directory");
    mkdir(tmp_path("emptydir"), 0755);
    CHECK_ERR(tmp_path("emptydir"), "emptydir: no model.safetensors or model.safetensors.index.json in this folder");
}

static void test_sharded(void) {
    mkdir(tmp_path("sharded"), 0755);
    float x[2] = {1, 2}, y[3] = {3, 4, 5};
    st_entry e1[1] = {{"a", 1, {2}, x}}, e2[2] = {{"b", 1, {3}, y}, {"c", 1, {2}, x}};
    fx_err err;
    CHECK_INT(st_save(tmp_path("sharded/model-00001-of-00002.safetensors"), e1, 1, ST_F32, &err), 0);
    CHECK_INT(st_save(tmp_path("sharded/model-00002-of-00002.safetensors"), e2, 2, ST_BF16, &err), 0);
    write_text("sharded/model.safetensors.index.json",
               "{\"metadata\": {\"total_size\": 18}, \"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
               " \"b\": \"model-00002-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"}}");
    st_archive a;
    CHECK_INT(st_open(&a, tmp_path("sharded"), &err), 0);
    CHECK_INT(a.ntensors, 3);
    CHECK_INT(a.nshards, 2);
    float out[3];
    int64_t s3[1] = {3};
    CHECK_INT(st_read_f32(&a, "b", 1, s3, out, &err), 0);
    CHECK(out[0] == 3 && out[1] == 4 && out[2] == 5);
    st_close(&a);
    write_text("sharded/missing.index.json", "{\"weight_map\": {\"a\": \"model-00003-of-00002.safetensors\"}}");
    CHECK_ERR(tmp_path("sharded/missing.index.json"), "model-00003-of-00002.safetensors: cannot open");
    write_text("sharded/wrong.index.json",
               "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"z\": \"model-00001-of-00002.safetensors\"}}");
    CHECK_ERR(tmp_path("sharded/wrong.index.json"), "wrong.index.json: tensor z: listed in weight_map but not in model-00001");
    write_text("sharded/extra.index.json", "{\"weight_map\": {\"b\": \"model-00002-of-00002.safetensors\"}}");
    CHECK_ERR(tmp_path("sharded/extra.index.json"), "extra.index.json: tensor c: in shard");
    write_text("sharded/moved.index.json",
               "{\"weight_map\": {\"a\": \"model-00002-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\","
               " \"c\": \"model-00002-of-00002.safetensors\"}}");
    CHECK_ERR(tmp_path("sharded/moved.index.json"), "tensor a: listed in weight_map but not in model-00002-of-00002.safetensors");
    write_text("sharded/escape.index.json", "{\"weight_map\": {\"a\": \"../x.safetensors\"}}");
    CHECK_ERR(tmp_path("sharded/escape.index.json"), "weight_map.a: expected the file name of a .safetensors shard");
    write_text("sharded/nomap.index.json", "{\"metadata\": {}}");
    CHECK_ERR(tmp_path("sharded/nomap.index.json"), "nomap.index.json: weight_map: expected an object");
}

static const char *parse_cfg(model_config *c, const char *json) {
    static fx_err err;
    err.msg[0] = '\0';
    model_config_parse(c, json, strlen(json), "config.json", &err);
    return err.msg;
}

static void test_model_config(void) {
    model_config c;
    // The shape of DeepSeek-R1-Distill-Qwen-1.5B's config.json.
    CHECK_STR(parse_cfg(&c, "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"hidden_size\": 1536,"
                            " \"intermediate_size\": 8960, \"num_hidden_layers\": 28, \"num_attention_heads\": 12,"
                            " \"num_key_value_heads\": 2, \"vocab_size\": 151936, \"max_position_embeddings\": 131072,"
                            " \"rope_theta\": 10000, \"rms_norm_eps\": 1e-06, \"tie_word_embeddings\": false,"
                            " \"hidden_act\": \"silu\", \"sliding_window\": 4096, \"use_sliding_window\": false,"
                            " \"rope_scaling\": null, \"bos_token_id\": 151646, \"eos_token_id\": 151643,"
                            " \"torch_dtype\": \"bfloat16\", \"use_cache\": true}"),
              "");
    CHECK_STR(c.architecture, "Qwen2ForCausalLM");
    CHECK_INT(c.head_dim, 128);
    CHECK_INT(c.num_key_value_heads, 2);
    CHECK(c.qkv_bias && !c.o_bias && !c.qk_norm && !c.mlp_bias && !c.tie_word_embeddings);
    CHECK_INT(c.bos_token_id, 151646);
    CHECK_STR(c.torch_dtype, "bfloat16");
    // Qwen3: head_dim × heads ≠ hidden, q/k norm, eos as a list.
    CHECK_STR(parse_cfg(&c, "{\"model_type\": \"qwen3\", \"hidden_size\": 64, \"head_dim\": 24, \"intermediate_size\": 96,"
                            " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                            " \"vocab_size\": 100, \"rope_theta\": 1000000, \"eos_token_id\": [7, 8], \"dtype\": \"float32\"}"),
              "");
    CHECK(c.qk_norm && !c.qkv_bias && c.head_dim == 24 && c.eos_token_id == 7 && c.bos_token_id == -1);
    CHECK_NEAR(c.rope_theta, 1e6, 0);
    CHECK_STR(parse_cfg(&c, "{\"model_type\": \"llama\", \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1,"
                            " \"num_attention_heads\": 4, \"vocab_size\": 50, \"attention_bias\": true, \"mlp_bias\": true}"),
              "");
    CHECK(c.qkv_bias && c.o_bias && c.mlp_bias && !c.qk_norm && c.num_key_value_heads == 4 && c.head_dim == 8);
    // Round trip through model_config_save.
    fx_err err;
    CHECK_INT(model_config_save(&c, tmp_path("config.json"), &err), 0);
    model_config d;
    CHECK_INT(model_config_load(&d, dir, &err), 0);
    CHECK(d.hidden_size == 32 && d.qkv_bias && d.o_bias && d.mlp_bias && d.num_key_value_heads == 4);
    CHECK_STR(d.architecture, "LlamaForCausalLM");
    // Errors.
    CHECK_STR(parse_cfg(&c, "{\"model_type\": \"mistral\"}"),
              "config.json: model_type: expected \"qwen2\", \"qwen3\" or \"llama\", got \"mistral\"");
    CHECK_STR(parse_cfg(&c, "{\"model_type\": \"qwen2\", \"num_hidden_layers\": 2}"),
              "config.json: hidden_size: missing (expected a positive integer)");
    CHECK_STR(parse_cfg(&c, "{\"model_type\": \"qwen2\", \"hidden_size\": \"64\"}"),
              "config.json: hidden_size: expected a positive integer, got \"64\"");
    const char *base = "{\"model_type\": \"llama\", \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1,"
                       " \"num_attention_heads\": 4, \"vocab_size\": 50, ";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"num_key_value_heads\": 3}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: num_key_value_heads: 3 does not divide num_attention_heads 4");
    snprintf(buf, sizeof buf, "%s\"rope_scaling\": {\"type\": \"llama3\"}}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: rope_scaling: not supported (got {\"type\":\"llama3\"}); fluxrl implements plain RoPE");
    // transformers 5: rope_parameters in place of rope_theta / rope_scaling.
    snprintf(buf, sizeof buf, "%s\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000000.0}}", base);
    CHECK_STR(parse_cfg(&c, buf), "");
    CHECK_NEAR(c.rope_theta, 1e6, 0);
    snprintf(buf, sizeof buf, "%s\"rope_theta\": 5e5, \"rope_parameters\": {\"rope_theta\": 5e5}}", base);
    CHECK_STR(parse_cfg(&c, buf), "");
    CHECK_NEAR(c.rope_theta, 5e5, 0);
    snprintf(buf, sizeof buf, "%s\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4}}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: rope_parameters.rope_type: not supported (got \"yarn\"); fluxrl "
                                  "implements plain RoPE (\"default\")");
    snprintf(buf, sizeof buf, "%s\"rope_theta\": 1e4, \"rope_parameters\": {\"rope_theta\": 1e6}}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: rope_parameters.rope_theta 1e+06 disagrees with rope_theta 10000");
    snprintf(buf, sizeof buf, "%s\"rope_parameters\": 3}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: rope_parameters: expected an object {\"rope_type\": \"default\", "
                                  "\"rope_theta\": ...}");
    snprintf(buf, sizeof buf, "%s\"use_sliding_window\": true}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: use_sliding_window: not supported (sliding-window attention); expected false");
    snprintf(buf, sizeof buf, "%s\"hidden_act\": \"gelu\"}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: hidden_act: expected \"silu\" (SwiGLU MLP)");
    snprintf(buf, sizeof buf, "%s\"head_dim\": 7}", base);
    CHECK_STR(parse_cfg(&c, buf), "config.json: head_dim: 7 is odd; rotary embeddings need an even size");
    CHECK_STR(parse_cfg(&c, "[1]"), "config.json: malformed JSON (expected a Hugging Face config object)");
    CHECK_INT(model_config_load(&c, tmp_path("nothing"), &err), -1);
    CHECK(strstr(err.msg, "nothing: cannot open") != NULL);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    test_conversions();
    test_round_trip();
    test_bad_files();
    test_sharded();
    test_model_config();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary("test_safetensors");
}
