// tok_train.c — byte-level BPE training, deterministic: the text is split like Qwen2's pre-tokenizer
// (special tokens first taken out), words are counted, and the most frequent adjacent pair is
// merged until the vocabulary is full. Ties go to the pair whose bytes sort first, so the same text
// always gives the same tokenizer.json. Meant for small corpora (the built-in task's): pairs are
// recounted over the distinct words after every merge.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

typedef struct {
    char *p;
    size_t n;
} bytes;

typedef struct {
    int32_t *sym; // token ids
    int nsym;
    long count;
} word;

typedef struct {
    bytes *tok; // every token's bytes, by id
    int ntok;
    word *words;
    int nword, capword;
    uint32_t *wmap; // open addressing over words by their text (index + 1; 0 empty)
    uint32_t wmask;
    bytes *wtext;
} trainer;

static void count_word(trainer *tr, const char *s, size_t n) {
    uint32_t i = (uint32_t)tok_hash(s, n) & tr->wmask;
    for (; tr->wmap[i]; i = (i + 1) & tr->wmask) {
        uint32_t w = tr->wmap[i] - 1;
        if (tr->wtext[w].n == n && memcmp(tr->wtext[w].p, s, n) == 0) {
            tr->words[w].count++;
            return;
        }
    }
    if (tr->nword == tr->capword) {
        tr->capword = tr->capword ? 2 * tr->capword : 1024;
        tr->words = fx_realloc(tr->words, (size_t)tr->capword * sizeof *tr->words);
        tr->wtext = fx_realloc(tr->wtext, (size_t)tr->capword * sizeof *tr->wtext);
    }
    word *w = &tr->words[tr->nword];
    w->sym = fx_malloc(n * sizeof *w->sym);
    for (size_t k = 0; k < n; k++) w->sym[k] = (unsigned char)s[k];
    w->nsym = (int)n, w->count = 1;
    tr->wtext[tr->nword] = (bytes){fx_malloc(n), n};
    memcpy(tr->wtext[tr->nword].p, s, n);
    tr->wmap[i] = (uint32_t)++tr->nword;
    if ((uint32_t)tr->nword * 2 > tr->wmask) { // grow: rehash every word
        tr->wmask = tr->wmask * 2 + 1;
        free(tr->wmap);
        tr->wmap = fx_calloc((size_t)tr->wmask + 1, sizeof *tr->wmap);
        for (int k = 0; k < tr->nword; k++) {
            uint32_t j = (uint32_t)tok_hash(tr->wtext[k].p, tr->wtext[k].n) & tr->wmask;
            while (tr->wmap[j]) j = (j + 1) & tr->wmask;
            tr->wmap[j] = (uint32_t)k + 1;
        }
    }
}

// Splits text into words with Qwen2's pattern, skipping the special tokens' text.
static int split_words(trainer *tr, const char *text, size_t len, const tok_train_opts *o, fx_err *err) {
    char why[300];
    pcre2_code *re = tok_regex_compile(tok_qwen2_pattern, strlen(tok_qwen2_pattern), false, why, sizeof why);
    FX_ASSERT(re != NULL);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    // next[k]: where special k next occurs (len: nowhere), found again only once passed.
    size_t *next = fx_malloc(((size_t)o->nspecial + 1) * sizeof *next);
    for (int k = 0; k < o->nspecial; k++) next[k] = (size_t)-1;
    size_t done = 0;
    while (done < len) {
        size_t stop = len, skip = 0;
        for (int k = 0; k < o->nspecial; k++) {
            size_t sl = strlen(o->specials[k]);
            if (next[k] == (size_t)-1 || (next[k] < done && next[k] != len)) {
                next[k] = len;
                for (const char *p = text + done; sl && p + sl <= text + len; p++)
                    if (memcmp(p, o->specials[k], sl) == 0) {
                        next[k] = (size_t)(p - text);
                        break;
                    }
            }
            if (next[k] < stop || (next[k] == stop && next[k] < len && sl > skip)) stop = next[k], skip = sl;
        }
        size_t pos = done;
        while (pos < stop) {
            int rc = pcre2_match(re, (PCRE2_SPTR)text, stop, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
                rc = pcre2_match(re, (PCRE2_SPTR)text, stop, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) fx_fatal("tokenizer train: PCRE2 error %d", rc);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[1] == ov[0]) {
                pos = ov[0] + 1;
                continue;
            }
            count_word(tr, text + ov[0], ov[1] - ov[0]);
            pos = ov[1];
        }
        done = stop + skip;
    }
    free(next);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    (void)err;
    return 0;
}

typedef struct {
    uint64_t key;
    long count;
} pair_count;

static int cmp_bytes(const bytes *a, const bytes *b) {
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->p, b->p, n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

// The most frequent pair (ties: bytes of the left, then the right token, smallest first); 0 if none.
static long best_pair(trainer *tr, pair_count *tab, uint32_t mask, int32_t *left, int32_t *right) {
    memset(tab, 0, ((size_t)mask + 1) * sizeof *tab);
    long best = 0;
    for (int w = 0; w < tr->nword; w++) {
        const word *wd = &tr->words[w];
        for (int k = 0; k + 1 < wd->nsym; k++) {
            uint64_t key = ((uint64_t)(uint32_t)wd->sym[k] << 32 | (uint32_t)wd->sym[k + 1]) + 1;
            uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;
            while (tab[i].key && tab[i].key != key) i = (i + 1) & mask;
            tab[i].key = key;
            tab[i].count += wd->count;
        }
    }
    for (uint32_t i = 0; i <= mask; i++) {
        if (!tab[i].key) continue;
        int32_t a = (int32_t)((tab[i].key - 1) >> 32), b = (int32_t)((tab[i].key - 1) & 0xffffffffu);
        int c = tab[i].count != best ? (tab[i].count > best ? -1 : 1) : cmp_bytes(&tr->tok[a], &tr->tok[*left]);
        if (c == 0) c = cmp_bytes(&tr->tok[b], &tr->tok[*right]);
        if (best == 0 || c < 0) best = tab[i].count, *left = a, *right = b;
    }
    return best;
}

static void apply_merge(trainer *tr, int32_t a, int32_t b, int32_t id) {
    for (int w = 0; w < tr->nword; w++) {
        word *wd = &tr->words[w];
        int j = 0;
        for (int k = 0; k < wd->nsym; k++) {
            if (k + 1 < wd->nsym && wd->sym[k] == a && wd->sym[k + 1] == b)
                wd->sym[j++] = id, k++;
            else
                wd->sym[j++] = wd->sym[k];
        }
        wd->nsym = j;
    }
}

static cJSON *bytelevel_string(const bytes *t) {
    char *s = fx_malloc(2 * t->n + 1);
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) k += tok_utf8_encode(tok_byte_char[(unsigned char)t->p[i]], s + k);
    s[k] = '\0';
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

static cJSON *bytelevel_step(const char *type) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", type);
    cJSON_AddBoolToObject(j, "add_prefix_space", false);
    cJSON_AddBoolToObject(j, "trim_offsets", false);
    cJSON_AddBoolToObject(j, "use_regex", false);
    return j;
}

static cJSON *tokenizer_json(const trainer *tr, const int32_t (*merges)[2], int nmerge, const tok_train_opts *o) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (int k = 0; k < o->nspecial; k++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", tr->ntok + k);
        cJSON_AddStringToObject(a, "content", o->specials[k]);
        cJSON_AddBoolToObject(a, "single_word", false);
        cJSON_AddBoolToObject(a, "lstrip", false);
        cJSON_AddBoolToObject(a, "rstrip", false);
        cJSON_AddBoolToObject(a, "normalized", false);
        cJSON_AddBoolToObject(a, "special", true);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "normalizer"), "type", "NFC");
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *steps = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", tok_qwen2_pattern);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", false);
    cJSON_AddItemToArray(steps, split);
    cJSON_AddItemToArray(steps, bytelevel_step("ByteLevel"));
    cJSON_AddItemToObject(root, "post_processor", bytelevel_step("ByteLevel"));
    cJSON_AddItemToObject(root, "decoder", bytelevel_step("ByteLevel"));
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "");
    cJSON_AddStringToObject(model, "end_of_word_suffix", "");
    cJSON_AddBoolToObject(model, "fuse_unk", false);
    cJSON_AddBoolToObject(model, "byte_fallback", false);
    cJSON_AddBoolToObject(model, "ignore_merges", false);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int i = 0; i < tr->ntok; i++) {
        cJSON *key = bytelevel_string(&tr->tok[i]);
        cJSON_AddNumberToObject(vocab, key->valuestring, i);
        cJSON_Delete(key);
    }
    cJSON *m = cJSON_AddArrayToObject(model, "merges");
    for (int i = 0; i < nmerge; i++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, bytelevel_string(&tr->tok[merges[i][0]]));
        cJSON_AddItemToArray(pair, bytelevel_string(&tr->tok[merges[i][1]]));
        cJSON_AddItemToArray(m, pair);
    }
    return root;
}

static int write_json(const char *dir, const char *name, cJSON *j, fx_err *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = cJSON_Print(j);
    size_t n = strlen(s);
    s = fx_realloc(s, n + 2);
    s[n] = '\n', s[n + 1] = '\0';
    int rc = fx_write_file_atomic(path, s, n + 1, err);
    free(s);
    return rc;
}

int tok_train(const char *text, size_t len, const tok_train_opts *o, const char *dir, fx_err *err) {
    if (o->vocab_size < 256 || o->vocab_size > 1000000)
        return fx_errf(err, "--vocab-size: expected 256 to 1000000 (256 byte tokens + merges), got %d", o->vocab_size);
    char *clean = tok_utf8_sanitize(text, len, &len);
    trainer tr = {0};
    tr.wmask = 4095;
    tr.wmap = fx_calloc((size_t)tr.wmask + 1, sizeof *tr.wmap);
    tr.tok = fx_malloc((size_t)o->vocab_size * sizeof *tr.tok);
    for (int b = 0; b < 256; b++) {
        tr.tok[b] = (bytes){fx_malloc(1), 1};
        tr.tok[b].p[0] = (char)b;
    }
    tr.ntok = 256;
    split_words(&tr, clean, len, o, err);
    int32_t(*merges)[2] = fx_malloc((size_t)o->vocab_size * sizeof *merges);
    int nmerge = 0;
    uint32_t mask = 1u << 16;
    while (mask < (uint32_t)tr.nword * 8) mask <<= 1;
    pair_count *tab = fx_malloc((size_t)mask * sizeof *tab);
    while (tr.ntok < o->vocab_size) {
        int32_t a = 0, b = 0;
        if (best_pair(&tr, tab, mask - 1, &a, &b) == 0) break; // nothing left to merge
        bytes nt = {fx_malloc(tr.tok[a].n + tr.tok[b].n), tr.tok[a].n + tr.tok[b].n};
        memcpy(nt.p, tr.tok[a].p, tr.tok[a].n);
        memcpy(nt.p + tr.tok[a].n, tr.tok[b].p, tr.tok[b].n);
        tr.tok[tr.ntok] = nt;
        merges[nmerge][0] = a, merges[nmerge][1] = b, nmerge++;
        apply_merge(&tr, a, b, tr.ntok++);
    }
    int rc = fx_mkdir_p(dir, err);
    if (rc == 0) {
        cJSON *j = tokenizer_json(&tr, (const int32_t(*)[2])merges, nmerge, o);
        rc = write_json(dir, "tokenizer.json", j, err);
        cJSON_Delete(j);
    }
    if (rc == 0) {
        cJSON *cfg = cJSON_CreateObject();
        cJSON_AddBoolToObject(cfg, "add_bos_token", false);
        cJSON_AddNullToObject(cfg, "bos_token");
        if (o->eos)
            cJSON_AddStringToObject(cfg, "eos_token", o->eos);
        else
            cJSON_AddNullToObject(cfg, "eos_token");
        if (o->pad)
            cJSON_AddStringToObject(cfg, "pad_token", o->pad);
        else
            cJSON_AddNullToObject(cfg, "pad_token");
        cJSON_AddStringToObject(cfg, "tokenizer_class", "Qwen2Tokenizer");
        rc = write_json(dir, "tokenizer_config.json", cfg, err);
        cJSON_Delete(cfg);
    }
    free(tab);
    free(merges);
    for (int i = 0; i < tr.ntok; i++) free(tr.tok[i].p);
    for (int i = 0; i < tr.nword; i++) free(tr.words[i].sym), free(tr.wtext[i].p);
    free(tr.tok);
    free(tr.words);
    free(tr.wtext);
    free(tr.wmap);
    free(clean);
    return rc;
}
