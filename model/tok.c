// tok.c — loading tokenizer.json (+ tokenizer_config.json) into the tables tok_encode reads.
// Everything not understood is refused with the file and the JSON path: a tokenizer that is
// silently different would poison every id downstream.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "tok_internal.h"

// bytes_to_unicode() of GPT-2: printable Latin-1 bytes stand for themselves, the other 68 bytes
// for U+0100.. in byte order.
const uint16_t tok_byte_char[256] = {
    256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277,
    278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 33,  34,  35,  36,  37,  38,  39,  40,  41,  42,  43,
    44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62,  63,  64,  65,
    66,  67,  68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,  85,  86,  87,
    88,  89,  90,  91,  92,  93,  94,  95,  96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109,
    110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 289, 290, 291, 292, 293,
    294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315,
    316, 317, 318, 319, 320, 321, 322, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 323, 174, 175,
    176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197,
    198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219,
    220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241,
    242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
};

// The inverse, without a table: U+0100 + k stands for the k-th byte that is not printable Latin-1
// (0..32, then 127..160, then 173).
int tok_char_byte(uint32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return (int)cp;
    if (cp < 256 || cp > 323) return -1;
    uint32_t k = cp - 256;
    return k < 33 ? (int)k : k < 67 ? (int)(127 + k - 33) : 173;
}

const char tok_qwen2_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// ByteLevel's own split (use_regex), GPT-2's pattern.
static const char gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

uint64_t tok_hash(const char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8, n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

pcre2_code *tok_regex_compile(const char *pattern, size_t len, bool literal, char *why, size_t why_len) {
    int code;
    PCRE2_SIZE at;
    uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP); // UCP: \s, \w are Unicode's
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &code, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(why, why_len, "%s at offset %zu", (const char *)msg, (size_t)at);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); // falls back to the interpreter where JIT is absent
    return re;
}

// ---- the loader's context: file name for messages, JSON path being read ----------------------

typedef struct {
    const char *file;
    fx_err *err;
} ld;

static int bad(ld *c, const char *path, const char *what) { return fx_errf(c->err, "%s: %s: %s", c->file, path, what); }

static const char *type_name(const cJSON *j) {
    if (!j || cJSON_IsNull(j)) return "null";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsArray(j)) return "an array";
    return "an object";
}

static int want(ld *c, const cJSON *j, const char *path, int (*is)(const cJSON *), const char *what) {
    if (j && is(j)) return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "expected %s, got %s", what, type_name(j));
    return bad(c, path, msg);
}

static int is_obj(const cJSON *j) { return cJSON_IsObject(j); }
static int is_arr(const cJSON *j) { return cJSON_IsArray(j); }
static int is_str(const cJSON *j) { return cJSON_IsString(j); }
static int is_bool(const cJSON *j) { return cJSON_IsBool(j); }

// An optional boolean field (absent or null = dflt).
static int opt_bool(ld *c, const cJSON *obj, const char *key, const char *path, bool dflt, bool *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = dflt;
    if (!j || cJSON_IsNull(j)) return 0;
    char p[256];
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (want(c, j, p, is_bool, "true or false")) return -1;
    *out = cJSON_IsTrue(j);
    return 0;
}

static const char *type_of(ld *c, const cJSON *obj, const char *path) {
    char p[256];
    snprintf(p, sizeof p, "%s.type", path);
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(obj, "type");
    if (want(c, obj, path, is_obj, "an object") || want(c, ty, p, is_str, "a string")) return NULL;
    return ty->valuestring;
}

static int unsupported(ld *c, const char *path, const char *type) {
    char msg[300];
    snprintf(msg, sizeof msg, "unsupported type '%s' (see docs/tokenizer.md for what fluxrl reads)", type);
    char p[256];
    snprintf(p, sizeof p, "%s.type", path);
    return bad(c, p, msg);
}

// ---- token tables -----------------------------------------------------------------------------

// A vocabulary key in ByteLevel's alphabet → its bytes. A key with a character outside the
// alphabet keeps its UTF-8 as is (what HF's ByteLevel decoder does with such a token).
static size_t bytelevel_to_bytes(const char *s, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int l = tok_utf8_valid_len((const unsigned char *)s + i, n - i);
        if (l == 0) goto raw;
        int b = tok_char_byte(tok_utf8_decode((const unsigned char *)s + i, &l));
        if (b < 0) goto raw;
        out[k++] = (char)b;
        i += (size_t)l;
    }
    return k;
raw:
    memcpy(out, s, n);
    return n;
}

static void set_token(tok_tokenizer *t, int32_t id, const char *bytes, size_t n, size_t *pool_len, size_t *pool_cap) {
    if (*pool_len + n + 1 > *pool_cap) {
        while (*pool_len + n + 1 > *pool_cap) *pool_cap *= 2;
        t->pool = fx_realloc(t->pool, *pool_cap);
    }
    memcpy(t->pool + *pool_len, bytes, n);
    t->pool[*pool_len + n] = '\0';
    t->off[id] = (uint32_t)*pool_len;
    t->len[id] = (uint32_t)n;
    *pool_len += n + 1;
}

static uint32_t pow2_at_least(size_t n) {
    uint32_t c = 1024;
    while (c < n) c *= 2;
    return c;
}

int32_t tok_vocab_find(const tok_tokenizer *t, const char *p, size_t n) {
    for (uint32_t i = (uint32_t)tok_hash(p, n) & t->vmask;; i = (i + 1) & t->vmask) {
        int32_t id = t->vmap[i];
        if (id < 0) return -1;
        if (t->len[id] == n && memcmp(t->pool + t->off[id], p, n) == 0) return id;
    }
}

static void vocab_insert(tok_tokenizer *t, int32_t id) {
    uint32_t i = (uint32_t)tok_hash(t->pool + t->off[id], t->len[id]) & t->vmask;
    while (t->vmap[i] >= 0) {
        if (tok_vocab_find(t, t->pool + t->off[id], t->len[id]) >= 0) return; // first one wins
        i = (i + 1) & t->vmask;
    }
    t->vmap[i] = id;
}

static uint64_t merge_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1); }

static uint32_t merge_slot(uint64_t key, uint32_t mask) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & mask;
}

int32_t tok_merge_find(const tok_tokenizer *t, int32_t a, int32_t b, int32_t *rank) {
    uint64_t key = merge_key(a, b);
    for (uint32_t i = merge_slot(key, t->mmask);; i = (i + 1) & t->mmask) {
        if (t->merges[i].key == key) {
            *rank = t->merges[i].rank;
            return t->merges[i].id;
        }
        if (t->merges[i].key == 0) return -1;
    }
}

// ---- model ------------------------------------------------------------------------------------

static int load_vocab(ld *c, tok_tokenizer *t, const cJSON *vocab, const cJSON *added, size_t *pool_len,
                      size_t *pool_cap) {
    if (want(c, vocab, "model.vocab", is_obj, "an object of token → id")) return -1;
    int32_t max_id = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!cJSON_IsNumber(e) || v < 0 || v > 16777216 || v != (double)(int32_t)v) {
            char p[320];
            snprintf(p, sizeof p, "model.vocab[\"%.200s\"]", e->string);
            return bad(c, p, "expected an id, an integer in [0, 16777216]");
        }
        if ((int32_t)v > max_id) max_id = (int32_t)v;
    }
    cJSON_ArrayForEach(e, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble <= 16777216 &&
            (int32_t)id->valuedouble > max_id)
            max_id = (int32_t)id->valuedouble;
    }
    t->nid = max_id + 1;
    t->off = fx_calloc((size_t)t->nid + 1, sizeof *t->off);
    t->len = fx_malloc(((size_t)t->nid + 1) * sizeof *t->len);
    t->flags = fx_calloc((size_t)t->nid + 1, 1);
    for (int32_t i = 0; i <= t->nid; i++) t->len[i] = UINT32_MAX;
    t->vmask = pow2_at_least((size_t)cJSON_GetArraySize(vocab) * 2 + 1) - 1; // ids may be sparse
    t->vmap = fx_malloc(((size_t)t->vmask + 1) * sizeof *t->vmap);
    memset(t->vmap, 0xff, ((size_t)t->vmask + 1) * sizeof *t->vmap);
    char *buf = NULL;
    size_t buf_cap = 0;
    cJSON_ArrayForEach(e, vocab) {
        int32_t id = (int32_t)e->valuedouble;
        size_t n = strlen(e->string);
        if (n + 1 > buf_cap) buf_cap = 2 * n + 64, buf = fx_realloc(buf, buf_cap);
        if (t->len[id] != UINT32_MAX) {
            free(buf);
            char p[320];
            snprintf(p, sizeof p, "model.vocab[\"%.200s\"]", e->string);
            return bad(c, p, "id already used by another token");
        }
        set_token(t, id, buf, bytelevel_to_bytes(e->string, n, buf), pool_len, pool_cap);
        vocab_insert(t, id);
    }
    free(buf);
    for (int b = 0; b < 256; b++) {
        char ch = (char)b;
        t->byte_id[b] = tok_vocab_find(t, &ch, 1);
        if (t->byte_id[b] < 0) {
            char cp[8], msg[160];
            cp[tok_utf8_encode(tok_byte_char[b], cp)] = '\0';
            snprintf(msg, sizeof msg, "byte-level BPE needs a token for every byte; byte 0x%02x ('%s') has none", b,
                     cp);
            return bad(c, "model.vocab", msg);
        }
    }
    return 0;
}

// One merge, "a b" or ["a", "b"], as the pair of its two parts.
static int merge_parts(ld *c, const cJSON *m, int i, const char **a, size_t *na, const char **b, size_t *nb) {
    char p[64];
    snprintf(p, sizeof p, "model.merges[%d]", i);
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' ') || sp == s || sp[1] == '\0')
            return bad(c, p, "expected \"LEFT RIGHT\" (two tokens, one space)");
        *a = s, *na = (size_t)(sp - s), *b = sp + 1, *nb = strlen(sp + 1);
        return 0;
    }
    if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) && cJSON_IsString(m->child->next)) {
        *a = m->child->valuestring, *na = strlen(*a);
        *b = m->child->next->valuestring, *nb = strlen(*b);
        return 0;
    }
    return bad(c, p, "expected \"LEFT RIGHT\" or [\"LEFT\", \"RIGHT\"]");
}

static int load_merges(ld *c, tok_tokenizer *t, const cJSON *merges) {
    if (!merges || cJSON_IsNull(merges))
        merges = NULL;
    else if (want(c, merges, "model.merges", is_arr, "an array"))
        return -1;
    int n = merges ? cJSON_GetArraySize(merges) : 0;
    t->mmask = pow2_at_least((size_t)n * 2 + 1) - 1;
    t->merges = fx_calloc((size_t)t->mmask + 1, sizeof *t->merges);
    char *buf = NULL;
    size_t cap = 0;
    int i = 0, rc = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        const char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        if ((rc = merge_parts(c, m, i, &a, &na, &b, &nb))) break;
        if (2 * (na + nb) + 2 > cap) cap = 4 * (na + nb) + 64, buf = fx_realloc(buf, cap);
        size_t la = bytelevel_to_bytes(a, na, buf), lb = bytelevel_to_bytes(b, nb, buf + la);
        int32_t ia = tok_vocab_find(t, buf, la), ib = tok_vocab_find(t, buf + la, lb);
        int32_t ij = tok_vocab_find(t, buf, la + lb);
        char p[64];
        snprintf(p, sizeof p, "model.merges[%d]", i);
        if (ia < 0 || ib < 0 || ij < 0) {
            char msg[200];
            if (ia < 0 || ib < 0)
                snprintf(msg, sizeof msg, "'%.*s' is not in model.vocab", (int)(ia < 0 ? na : nb), ia < 0 ? a : b);
            else
                snprintf(msg, sizeof msg, "the merged token '%.*s%.*s' is not in model.vocab", (int)na, a, (int)nb, b);
            rc = bad(c, p, msg);
            break;
        }
        uint64_t key = merge_key(ia, ib);
        uint32_t s = merge_slot(key, t->mmask);
        while (t->merges[s].key != 0 && t->merges[s].key != key) s = (s + 1) & t->mmask;
        if (t->merges[s].key == 0) t->merges[s] = (tok_merge){key, i, ij}; // a repeat keeps its first rank
        i++;
    }
    free(buf);
    return rc;
}

static int load_model(ld *c, tok_tokenizer *t, const cJSON *model, const cJSON *added, size_t *pool_len,
                      size_t *pool_cap) {
    const char *type = cJSON_GetObjectItemCaseSensitive(model, "type") ? type_of(c, model, "model") : "BPE";
    if (!type) return -1;
    if (want(c, model, "model", is_obj, "an object")) return -1;
    if (strcmp(type, "BPE") != 0) return unsupported(c, "model", type);
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return bad(c, "model.dropout", "BPE dropout is not supported (expected null)");
    bool fallback;
    if (opt_bool(c, model, "byte_fallback", "model", false, &fallback)) return -1;
    if (fallback) return bad(c, "model.byte_fallback", "byte fallback is not supported (expected false)");
    const char *affix[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(model, affix[i]);
        if (j && !cJSON_IsNull(j) && !(cJSON_IsString(j) && j->valuestring[0] == '\0')) {
            char p[64];
            snprintf(p, sizeof p, "model.%s", affix[i]);
            return bad(c, p, "not supported (expected null or \"\")");
        }
    }
    if (opt_bool(c, model, "ignore_merges", "model", false, &t->ignore_merges)) return -1;
    if (load_vocab(c, t, cJSON_GetObjectItemCaseSensitive(model, "vocab"), added, pool_len, pool_cap)) return -1;
    return load_merges(c, t, cJSON_GetObjectItemCaseSensitive(model, "merges"));
}

// ---- added tokens ------------------------------------------------------------------------------

static int normalize_utf8(int opts, const char *s, size_t n, char **out, size_t *out_len);

static int cmp_added(const void *pa, const void *pb) {
    const tok_added *a = pa, *b = pb;
    unsigned char fa = a->len ? (unsigned char)a->content[0] : 0, fb = b->len ? (unsigned char)b->content[0] : 0;
    if (fa != fb) return fa < fb ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1; // longest first: leftmost-longest matching
    return a->id < b->id ? -1 : a->id > b->id;
}

static int load_added(ld *c, tok_tokenizer *t, const cJSON *added, size_t *pool_len, size_t *pool_cap) {
    if (!added || cJSON_IsNull(added)) return 0;
    if (want(c, added, "added_tokens", is_arr, "an array")) return -1;
    int n = cJSON_GetArraySize(added), i = 0;
    if (n > 30000) return bad(c, "added_tokens", "more than 30000 added tokens");
    t->added = fx_calloc((size_t)n + 1, sizeof *t->added);
    const cJSON *e;
    cJSON_ArrayForEach(e, added) {
        char p[64];
        snprintf(p, sizeof p, "added_tokens[%d]", i);
        if (want(c, e, p, is_obj, "an object")) return -1;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id"),
                    *content = cJSON_GetObjectItemCaseSensitive(e, "content");
        char q[96];
        snprintf(q, sizeof q, "%s.content", p);
        if (want(c, content, q, is_str, "a string")) return -1;
        if (content->valuestring[0] == '\0') return bad(c, q, "an added token cannot be empty");
        snprintf(q, sizeof q, "%s.id", p);
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 16777216 ||
            id->valuedouble != (double)(int32_t)id->valuedouble)
            return bad(c, q, "expected an id, an integer in [0, 16777216]");
        tok_added *a = &t->added[t->nadded++];
        a->id = (int32_t)id->valuedouble;
        if (opt_bool(c, e, "special", p, false, &a->special) || opt_bool(c, e, "lstrip", p, false, &a->lstrip) ||
            opt_bool(c, e, "rstrip", p, false, &a->rstrip) ||
            opt_bool(c, e, "single_word", p, false, &a->single_word) ||
            opt_bool(c, e, "normalized", p, !a->special, &a->normalized))
            return -1;
        // cJSON passes "\ud800"-style escapes through as bytes that are not UTF-8; such bytes
        // become U+FFFD here, as they would in any text the token is matched against.
        a->content = tok_utf8_sanitize(content->valuestring, strlen(content->valuestring), NULL);
        a->len = strlen(a->content);
        // Decoding an added token: ByteLevel maps it when every character is in its alphabet, else
        // its text comes out as is (HF's ByteLevel decoder); the vocabulary entry, if any, is replaced.
        char *bytes = fx_malloc(a->len + 1);
        size_t nb = bytelevel_to_bytes(a->content, a->len, bytes);
        set_token(t, a->id, bytes, nb, pool_len, pool_cap);
        free(bytes);
        t->flags[a->id] |= TOK_F_ADDED | (a->special ? TOK_F_SPECIAL : 0);
        if (a->normalized && t->normalizer) {
            char *norm;
            size_t nl;
            if (normalize_utf8(t->normalizer, a->content, a->len, &norm, &nl) == 0 && nl > 0) {
                free(a->content);
                a->content = norm, a->len = nl;
            }
        }
        if (a->normalized) t->any_normalized_added = true;
        i++;
    }
    qsort(t->added, (size_t)t->nadded, sizeof *t->added, cmp_added);
    int k = 0;
    for (int b = 0; b <= 256; b++) {
        while (k < t->nadded && (unsigned char)t->added[k].content[0] < b) k++;
        t->added_first[b] = (int16_t)(b == 256 ? t->nadded : k);
    }
    return 0;
}

// ---- normalizer and pre-tokenizer -------------------------------------------------------------

static int normalize_utf8(int opts, const char *s, size_t n, char **out, size_t *out_len) {
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst, (utf8proc_option_t)opts);
    if (r < 0) return -1;
    *out = (char *)dst, *out_len = (size_t)r;
    return 0;
}

// A "Sequence" normalizer or pre-tokenizer: each element of j[key] loaded in order by load, named
// PATH.key[i] in errors.
static int load_sequence(ld *c, tok_tokenizer *t, const cJSON *j, const char *path, const char *key,
                         int (*load)(ld *, tok_tokenizer *, const cJSON *, const char *)) {
    char p[256];
    snprintf(p, sizeof p, "%s.%s", path, key);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, key), *e;
    if (want(c, list, p, is_arr, "an array")) return -1;
    int i = 0;
    cJSON_ArrayForEach(e, list) {
        char q[280];
        snprintf(q, sizeof q, "%s[%d]", p, i++);
        if (load(c, t, e, q)) return -1;
    }
    return 0;
}

static int load_normalizer(ld *c, tok_tokenizer *t, const cJSON *n, const char *path) {
    if (!n || cJSON_IsNull(n)) return 0;
    const char *type = type_of(c, n, path);
    if (!type) return -1;
    static const struct {
        const char *name;
        int opts;
    } forms[] = {
        {"NFC", UTF8PROC_STABLE | UTF8PROC_COMPOSE},
        {"NFD", UTF8PROC_STABLE | UTF8PROC_DECOMPOSE},
        {"NFKC", UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT},
        {"NFKD", UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        if (strcmp(type, forms[i].name) != 0) continue;
        if (t->normalizer && t->normalizer != forms[i].opts)
            return bad(c, path, "only one Unicode normalization form is supported");
        t->normalizer = forms[i].opts;
        return 0;
    }
    if (strcmp(type, "Sequence") == 0) return load_sequence(c, t, n, path, "normalizers", load_normalizer);
    return unsupported(c, path, type);
}

static int load_split(ld *c, tok_step *s, const cJSON *j, const char *path) {
    char p[300];
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    snprintf(p, sizeof p, "%s.pattern", path);
    if (want(c, pat, p, is_obj, "an object {\"Regex\": …} or {\"String\": …}")) return -1;
    const cJSON *rx = cJSON_GetObjectItemCaseSensitive(pat, "Regex"),
                *lit = cJSON_GetObjectItemCaseSensitive(pat, "String");
    const cJSON *src = rx ? rx : lit;
    snprintf(p, sizeof p, "%s.pattern.%s", path, rx ? "Regex" : "String");
    if (want(c, src, p, is_str, "a string")) return -1;
    char why[300];
    s->re = tok_regex_compile(src->valuestring, strlen(src->valuestring), !rx, why, sizeof why);
    if (!s->re) return bad(c, p, why);
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const cJSON *beh = cJSON_GetObjectItemCaseSensitive(j, "behavior");
    snprintf(p, sizeof p, "%s.behavior", path);
    if (want(c, beh, p, is_str, "a string")) return -1;
    int k = 0;
    while (k < 5 && strcmp(beh->valuestring, names[k]) != 0) k++;
    if (k == 5) return bad(c, p, "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
    s->behavior = (tok_split_behavior)k;
    bool inv;
    if (opt_bool(c, j, "invert", path, false, &inv)) return -1;
    s->invert = inv;
    return 0;
}

static int load_pretok(ld *c, tok_tokenizer *t, const cJSON *j, const char *path) {
    const char *type = type_of(c, j, path);
    if (!type) return -1;
    if (strcmp(type, "Sequence") == 0) return load_sequence(c, t, j, path, "pretokenizers", load_pretok);
    if (t->nsteps >= 16) return bad(c, path, "more than 16 pre-tokenizer steps");
    tok_step *s = &t->steps[t->nsteps];
    memset(s, 0, sizeof *s);
    if (strcmp(type, "Split") == 0) {
        t->nsteps++; // counted before loading so that tok_free releases a half-built step
        return load_split(c, s, j, path);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        bool use_regex, prefix;
        if (opt_bool(c, j, "add_prefix_space", path, true, &prefix) ||
            opt_bool(c, j, "use_regex", path, true, &use_regex))
            return -1;
        s->bytelevel = true, s->add_prefix_space = prefix, s->behavior = TOK_SPLIT_ISOLATED;
        t->nsteps++;
        if (use_regex) {
            char why[300];
            s->re = tok_regex_compile(gpt2_pattern, sizeof gpt2_pattern - 1, false, why, sizeof why);
            FX_ASSERT(s->re != NULL);
        }
        return 0;
    }
    return unsupported(c, path, type);
}

static int load_decoder(ld *c, const cJSON *j, const char *path) {
    if (!j || cJSON_IsNull(j)) return bad(c, path, "expected a ByteLevel decoder, got null");
    const char *type = type_of(c, j, path);
    if (!type) return -1;
    if (strcmp(type, "ByteLevel") == 0) return 0;
    if (strcmp(type, "Sequence") == 0) {
        char p[256];
        snprintf(p, sizeof p, "%s.decoders", path);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "decoders"), *e;
        if (want(c, list, p, is_arr, "an array")) return -1;
        if (cJSON_GetArraySize(list) != 1) return bad(c, p, "expected exactly one decoder, ByteLevel");
        cJSON_ArrayForEach(e, list) {
            char q[280];
            snprintf(q, sizeof q, "%s[0]", p);
            if (load_decoder(c, e, q)) return -1;
        }
        return 0;
    }
    return unsupported(c, path, type);
}

// The post-processor only adds tokens when HF is asked for add_special_tokens=true; tok_encode
// never does (bos/eos are the caller's), so it is checked for a known type and otherwise unused.
static int check_post(ld *c, const cJSON *j) {
    if (!j || cJSON_IsNull(j)) return 0;
    const char *type = type_of(c, j, "post_processor");
    if (!type) return -1;
    const char *known[] = {"ByteLevel", "TemplateProcessing", "Sequence", "RobertaProcessing", "BertProcessing"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(type, known[i]) == 0) return 0;
    return unsupported(c, "post_processor", type);
}

// ---- tokenizer_config.json -------------------------------------------------------------------

static int config_token(ld *c, tok_tokenizer *t, const cJSON *cfg, const char *key, int32_t *out) {
    *out = -1;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!j || cJSON_IsNull(j)) return 0;
    if (cJSON_IsObject(j)) j = cJSON_GetObjectItemCaseSensitive(j, "content"); // older AddedToken form
    if (!cJSON_IsString(j)) return bad(c, key, "expected a token (a string or {\"content\": …}) or null");
    *out = tok_token_id(t, j->valuestring);
    if (*out < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "'%.200s' is not a token of the tokenizer", j->valuestring);
        return bad(c, key, msg);
    }
    return 0;
}

static int config_add_bos(ld *c, tok_tokenizer *t, const cJSON *cfg) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, "add_bos_token");
    if (j && !cJSON_IsNull(j) && !cJSON_IsBool(j)) return bad(c, "add_bos_token", "expected true or false");
    t->add_bos = cJSON_IsTrue(j);
    return 0;
}

static cJSON *parse(ld *c, const char *json, size_t len) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (root) { // only whitespace may follow the value
        while (end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
        if (end && end < json + len && *end != '\0') {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        bad(c, "(top level)", "expected a JSON object");
        return NULL;
    }
    if (!root) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = json; at && p < at && p < json + len; p++) line += *p == '\n';
        fx_errf(c->err, "%s: line %d: not valid JSON", c->file, line);
    }
    return root;
}

static int build(ld *c, tok_tokenizer *t, const cJSON *root) {
    size_t pool_len = 0, pool_cap = 1 << 16;
    t->pool = fx_malloc(pool_cap);
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (load_normalizer(c, t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), "normalizer")) return -1;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (want(c, model, "model", is_obj, "an object")) return -1;
    if (load_model(c, t, model, added, &pool_len, &pool_cap)) return -1;
    if (load_added(c, t, added, &pool_len, &pool_cap)) return -1;
    t->steps = fx_calloc(16, sizeof *t->steps);
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (!pre || cJSON_IsNull(pre))
        return bad(c, "pre_tokenizer", "expected a pre-tokenizer ending in ByteLevel, got null");
    if (load_pretok(c, t, pre, "pre_tokenizer")) return -1;
    bool has_bytelevel = false;
    for (int i = 0; i < t->nsteps; i++) has_bytelevel |= t->steps[i].bytelevel;
    if (!has_bytelevel) return bad(c, "pre_tokenizer", "no ByteLevel step: only byte-level BPE is supported");
    if (load_decoder(c, cJSON_GetObjectItemCaseSensitive(root, "decoder"), "decoder")) return -1;
    if (check_post(c, cJSON_GetObjectItemCaseSensitive(root, "post_processor"))) return -1;
    t->md = pcre2_match_data_create(4, NULL);
    return 0;
}

int tok_load_json(tok_tokenizer **out, const char *json, size_t len, const char *config_json, size_t config_len,
                  const char *name, fx_err *err) {
    *out = NULL;
    ld c = {name, err};
    cJSON *root = parse(&c, json, len);
    if (!root) return -1;
    tok_tokenizer *t = fx_calloc(1, sizeof *t);
    t->bos = t->eos = t->pad = -1;
    int rc = build(&c, t, root);
    cJSON_Delete(root);
    if (rc == 0 && config_json) {
        char cname[1100];
        snprintf(cname, sizeof cname, "%s", name);
        char *slash = strrchr(cname, '/');
        snprintf(slash ? slash + 1 : cname, sizeof cname - (size_t)(slash ? slash + 1 - cname : 0),
                 "tokenizer_config.json");
        ld cc = {cname, err};
        cJSON *cfg = parse(&cc, config_json, config_len);
        rc = !cfg || config_token(&cc, t, cfg, "bos_token", &t->bos) ||
                     config_token(&cc, t, cfg, "eos_token", &t->eos) ||
                     config_token(&cc, t, cfg, "pad_token", &t->pad) || config_add_bos(&cc, t, cfg) ||
                     tok_config_chat_template(t, cfg, cname, err)
                 ? -1
                 : 0;
        cJSON_Delete(cfg);
    }
    if (rc) {
        tok_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int tok_load(tok_tokenizer **out, const char *path, fx_err *err) {
    *out = NULL;
    struct stat st;
    char file[1024], cfg[1024];
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(file, sizeof file, "%s/tokenizer.json", path);
    } else {
        snprintf(file, sizeof file, "%s", path);
    }
    size_t len, cfg_len = 0;
    char *json = fx_read_file(file, &len, err);
    if (!json) return -1;
    snprintf(cfg, sizeof cfg, "%s", file);
    char *slash = strrchr(cfg, '/');
    snprintf(slash ? slash + 1 : cfg, sizeof cfg - (size_t)(slash ? slash + 1 - cfg : 0), "tokenizer_config.json");
    char *cfg_json = NULL;
    if (stat(cfg, &st) == 0) {
        cfg_json = fx_read_file(cfg, &cfg_len, err);
        if (!cfg_json) {
            free(json);
            return -1;
        }
    }
    int rc = tok_load_json(out, json, len, cfg_json, cfg_len, file, err);
    free(json);
    free(cfg_json);
    // transformers (4.50 on) saves the template as chat_template.jinja, which then wins
    snprintf(slash ? slash + 1 : cfg, sizeof cfg - (size_t)(slash ? slash + 1 - cfg : 0), "chat_template.jinja");
    if (rc == 0 && stat(cfg, &st) == 0) {
        size_t n;
        char *src = fx_read_file(cfg, &n, err);
        if (!src || tok_set_chat_template(*out, src, cfg, err)) {
            tok_free(*out);
            *out = NULL;
            rc = -1;
        }
        free(src);
    }
    return rc;
}

extern const unsigned char tok_builtin_tokenizer[], tok_builtin_tokenizer_config[], tok_builtin_chat_template[];
extern const size_t tok_builtin_tokenizer_len, tok_builtin_tokenizer_config_len, tok_builtin_chat_template_len;

int tok_load_builtin(tok_tokenizer **out, fx_err *err) {
    if (tok_load_json(out, (const char *)tok_builtin_tokenizer, tok_builtin_tokenizer_len,
                      (const char *)tok_builtin_tokenizer_config, tok_builtin_tokenizer_config_len,
                      "(built-in)/tokenizer.json", err))
        return -1;
    // its chat template writes the r1 layout (model/builtin/tokenizer/chat_template.jinja)
    if (tok_set_chat_template(*out, (const char *)tok_builtin_chat_template, "(built-in)/chat_template.jinja", err)) {
        tok_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int tok_write_builtin(const char *dir, fx_err *err) {
    char path[4200];
    if (fx_mkdir_p(dir, err)) return -1;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (fx_write_file_atomic(path, tok_builtin_tokenizer, tok_builtin_tokenizer_len, err)) return -1;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (fx_write_file_atomic(path, tok_builtin_tokenizer_config, tok_builtin_tokenizer_config_len, err)) return -1;
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    return fx_write_file_atomic(path, tok_builtin_chat_template, tok_builtin_chat_template_len, err);
}

void tok_free(tok_tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->nsteps; i++) pcre2_code_free(t->steps[i].re);
    for (int i = 0; i < t->nadded; i++) free(t->added[i].content);
    pcre2_match_data_free(t->md);
    tok_cache_free(t);
    free(t->steps);
    free(t->added);
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->flags);
    free(t->vmap);
    free(t->merges);
    jinja_free(t->chat);
    free(t);
}

// ---- vocabulary queries ------------------------------------------------------------------------

int32_t tok_vocab_size(const tok_tokenizer *t) { return t->nid; }

int tok_check_vocab(const tok_tokenizer *t, int32_t model_vocab, const char *dir, fx_err *err) {
    if (t->nid <= model_vocab) return 0;
    return fx_errf(err, "%s/tokenizer.json: token ids reach %d; expected ids below the model's vocab_size %d (config.json)",
                   dir, t->nid - 1, model_vocab);
}

const char *tok_token_bytes(const tok_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->nid || t->len[id] == UINT32_MAX) return NULL;
    if (len) *len = t->len[id];
    return t->pool + t->off[id];
}

int32_t tok_token_id(const tok_tokenizer *t, const char *token) {
    size_t n = strlen(token);
    for (int i = 0; i < t->nadded; i++)
        if (t->added[i].len == n && memcmp(t->added[i].content, token, n) == 0) return t->added[i].id;
    return tok_vocab_find(t, token, n);
}

bool tok_is_special(const tok_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->nid && (t->flags[id] & TOK_F_SPECIAL);
}

bool tok_is_added(const tok_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->nid && (t->flags[id] & TOK_F_ADDED);
}

int32_t tok_bos(const tok_tokenizer *t) { return t->bos; }
int32_t tok_eos(const tok_tokenizer *t) { return t->eos; }
int32_t tok_pad(const tok_tokenizer *t) { return t->pad; }

void tok_ids_push(tok_ids *v, int32_t id) {
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->ids = fx_realloc(v->ids, v->cap * sizeof *v->ids);
    }
    v->ids[v->n++] = id;
}

void tok_ids_free(tok_ids *v) {
    free(v->ids);
    memset(v, 0, sizeof *v);
}
