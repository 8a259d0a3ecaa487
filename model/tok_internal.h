// tok_internal.h — the tokenizer's data, shared by model/tok*.c only (not part of the API).
#ifndef FLUXRL_TOK_INTERNAL_H
#define FLUXRL_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "jinja.h"
#include "tok.h"

// Split behaviours of HF's Split pre-tokenizer (SplitDelimiterBehavior).
typedef enum {
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_ISOLATED,
    TOK_SPLIT_MERGED_PREV,
    TOK_SPLIT_MERGED_NEXT,
    TOK_SPLIT_CONTIGUOUS
} tok_split_behavior;

// One step of the pre-tokenizer Sequence: a regex Split, or ByteLevel (whose byte→char mapping
// is implicit here: fluxrl's BPE works on bytes, the vocabulary was mapped back to bytes at load).
typedef struct {
    bool bytelevel;
    pcre2_code *re;              // Split's pattern, or ByteLevel's GPT-2 pattern when use_regex
    tok_split_behavior behavior; // ByteLevel splits Isolated
    bool invert;
    bool add_prefix_space; // ByteLevel only
} tok_step;

typedef struct {
    char *content; // what is matched in the text (normalized when the token is normalized)
    size_t len;
    int32_t id;
    bool special, lstrip, rstrip, single_word, normalized;
} tok_added;

// Merges keyed by the pair of token ids: (left << 32 | right) → rank (order in the file) and result.
typedef struct {
    uint64_t key;
    int32_t rank, id;
} tok_merge;

// Cache of encoded words: bytes → ids, in two arenas; cleared whole when full.
typedef struct {
    uint64_t hash;
    uint32_t key_off, key_len, ids_off, nids;
} tok_cache_slot;

struct tok_tokenizer {
    // Every token by id: bytes pool[off[id] .. off[id]+len[id]); len = UINT32_MAX: no such id.
    char *pool;
    uint32_t *off, *len;
    uint8_t *flags; // TOK_F_*
    int32_t nid;

    int32_t *vmap; // open addressing over the BPE vocabulary, bytes → id (-1 empty)
    uint32_t vmask;
    tok_merge *merges; // open addressing, key 0 never used (id pairs are offset by one)
    uint32_t mmask;
    int32_t byte_id[256];
    bool ignore_merges;

    tok_added *added; // sorted by first byte, then longest first
    int nadded;
    int16_t added_first[257]; // added[added_first[b] .. added_first[b+1]) start with byte b
    bool any_normalized_added;

    int normalizer; // utf8proc options of the NFC/NFD/NFKC/NFKD normalizer; 0 = none
    tok_step *steps;
    int nsteps;
    pcre2_match_data *md;

    int32_t bos, eos, pad;
    bool add_bos; // tokenizer_config.json's add_bos_token
    jinja_template *chat; // tokenizer_config.json's chat_template (or chat_template.jinja); NULL: none

    tok_cache_slot *cache;
    uint32_t cache_mask, cache_used;
    char *cache_keys;
    size_t cache_keys_len, cache_keys_cap;
    int32_t *cache_ids;
    size_t cache_ids_len, cache_ids_cap;

    // BPE scratch, grown as needed.
    int32_t *sym_id, *sym_prev, *sym_next;
    struct tok_heap_item *heap;
    size_t scratch_cap;
};

enum { TOK_F_ADDED = 1, TOK_F_SPECIAL = 2 };

// GPT-2's byte ↔ character table of ByteLevel: the character a byte is shown as, and back
// (-1 for a code point that stands for no byte).
extern const uint16_t tok_byte_char[256];
int tok_char_byte(uint32_t cp);

uint64_t tok_hash(const char *p, size_t n);
int32_t tok_vocab_find(const tok_tokenizer *t, const char *p, size_t n);
int32_t tok_merge_find(const tok_tokenizer *t, int32_t a, int32_t b, int32_t *rank);

// BPE of one pre-token (its bytes), appended to out; through the word cache.
void tok_bpe_word(tok_tokenizer *t, const char *w, size_t n, tok_ids *out);
void tok_cache_free(tok_tokenizer *t);

// Valid-UTF-8 helpers: length of the well-formed sequence at p (0 when ill-formed or cut short),
// and decoding of one character (p must be well-formed).
int tok_utf8_valid_len(const unsigned char *p, size_t avail);
uint32_t tok_utf8_decode(const unsigned char *p, int *len);
size_t tok_utf8_encode(uint32_t cp, char *out);

// Compiles a pattern with UTF and Unicode properties (JIT when available).
pcre2_code *tok_regex_compile(const char *pattern, size_t len, bool literal, char *why, size_t why_len);

// The Qwen2 pre-tokenizer pattern (also what `tok_train` splits on).
extern const char tok_qwen2_pattern[];

// Reads tokenizer_config.json's chat_template (cfg_name names the file in messages).
int tok_config_chat_template(tok_tokenizer *t, const cJSON *cfg, const char *cfg_name, fx_err *err);

#endif
