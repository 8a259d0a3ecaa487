// tok_bpe.c — byte-pair merging of one pre-token, and the cache of words already merged.
// The word is a linked list of symbols (one per byte to start); a min-heap holds the candidate
// pairs ordered by (merge rank, position), as HF's Word::merge_all does, so the lowest-ranked pair
// merges first and ties go to the leftmost. Stale heap entries are skipped when popped.
// O(n log n) per word; repeated words come from the cache.
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

struct tok_heap_item {
    int32_t rank, pos, left, right, id; // merge (left, right) → id at symbol pos
};

enum { CACHE_SLOTS = 1 << 18, CACHE_MAX_WORD = 128 }; // 6 MB of slots: the long tail of real text fits

static bool heap_less(const struct tok_heap_item *a, const struct tok_heap_item *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(struct tok_heap_item *h, size_t *n, struct tok_heap_item it) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&it, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = it;
}

static struct tok_heap_item heap_pop(struct tok_heap_item *h, size_t *n) {
    struct tok_heap_item top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static void try_pair(tok_tokenizer *t, size_t *nh, int32_t pos, int32_t next) {
    int32_t rank, id = tok_merge_find(t, t->sym_id[pos], t->sym_id[next], &rank);
    if (id >= 0) heap_push(t->heap, nh, (struct tok_heap_item){rank, pos, t->sym_id[pos], t->sym_id[next], id});
}

static void grow_scratch(tok_tokenizer *t, size_t n) {
    if (n <= t->scratch_cap) return;
    size_t cap = t->scratch_cap ? t->scratch_cap : 256;
    while (cap < n) cap *= 2;
    t->sym_id = fx_realloc(t->sym_id, cap * sizeof *t->sym_id);
    t->sym_prev = fx_realloc(t->sym_prev, cap * sizeof *t->sym_prev);
    t->sym_next = fx_realloc(t->sym_next, cap * sizeof *t->sym_next);
    t->heap = fx_realloc(t->heap, 3 * cap * sizeof *t->heap); // ≤ n-1 initial pairs + 2 per merge
    t->scratch_cap = cap;
}

// Merges w[0..n) and appends the resulting ids; returns how many.
static size_t merge_word(tok_tokenizer *t, const unsigned char *w, size_t n, tok_ids *out) {
    grow_scratch(t, n);
    int32_t *id = t->sym_id, *prev = t->sym_prev, *next = t->sym_next;
    for (size_t i = 0; i < n; i++) {
        id[i] = t->byte_id[w[i]];
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    size_t nh = 0;
    for (size_t i = 0; i + 1 < n; i++) try_pair(t, &nh, (int32_t)i, (int32_t)i + 1);
    while (nh > 0) {
        struct tok_heap_item m = heap_pop(t->heap, &nh);
        int32_t a = m.pos, b = next[a];
        if (id[a] != m.left || b < 0 || id[b] != m.right) continue; // stale: a side merged since
        id[a] = m.id, id[b] = -1;
        next[a] = next[b];
        if (next[b] >= 0) prev[next[b]] = a;
        if (prev[a] >= 0) try_pair(t, &nh, prev[a], a);
        if (next[a] >= 0) try_pair(t, &nh, a, next[a]);
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = next[i], k++) tok_ids_push(out, id[i]);
    return k;
}

static void cache_clear(tok_tokenizer *t) {
    memset(t->cache, 0, CACHE_SLOTS * sizeof *t->cache);
    t->cache_used = 0, t->cache_keys_len = 0, t->cache_ids_len = 0;
}

static void cache_put(tok_tokenizer *t, uint32_t slot, uint64_t h, const char *w, size_t n, const int32_t *ids,
                      size_t nids) {
    if (t->cache_used >= CACHE_SLOTS / 2 || t->cache_keys_len + n > t->cache_keys_cap ||
        t->cache_ids_len + nids > t->cache_ids_cap) {
        cache_clear(t);
        slot = (uint32_t)h & t->cache_mask;
    }
    memcpy(t->cache_keys + t->cache_keys_len, w, n);
    memcpy(t->cache_ids + t->cache_ids_len, ids, nids * sizeof *ids);
    t->cache[slot] =
        (tok_cache_slot){h, (uint32_t)t->cache_keys_len, (uint32_t)n, (uint32_t)t->cache_ids_len, (uint32_t)nids};
    t->cache_keys_len += n, t->cache_ids_len += nids;
    t->cache_used++;
}

void tok_bpe_word(tok_tokenizer *t, const char *w, size_t n, tok_ids *out) {
    if (n == 1) {
        tok_ids_push(out, t->byte_id[(unsigned char)w[0]]);
        return;
    }
    if (t->ignore_merges) { // Llama-3: a word that is a token is taken whole
        int32_t id = tok_vocab_find(t, w, n);
        if (id >= 0) {
            tok_ids_push(out, id);
            return;
        }
    }
    if (n > CACHE_MAX_WORD) {
        merge_word(t, (const unsigned char *)w, n, out);
        return;
    }
    if (!t->cache) {
        t->cache = fx_calloc(CACHE_SLOTS, sizeof *t->cache);
        t->cache_mask = CACHE_SLOTS - 1;
        t->cache_keys_cap = (size_t)CACHE_SLOTS * 16;
        t->cache_ids_cap = (size_t)CACHE_SLOTS * 8;
        t->cache_keys = fx_malloc(t->cache_keys_cap);
        t->cache_ids = fx_malloc(t->cache_ids_cap * sizeof *t->cache_ids);
    }
    uint64_t h = tok_hash(w, n);
    uint32_t i = (uint32_t)h & t->cache_mask;
    for (; t->cache[i].key_len; i = (i + 1) & t->cache_mask) {
        const tok_cache_slot *c = &t->cache[i];
        if (c->hash == h && c->key_len == n && memcmp(t->cache_keys + c->key_off, w, n) == 0) {
            for (uint32_t k = 0; k < c->nids; k++) tok_ids_push(out, t->cache_ids[c->ids_off + k]);
            return;
        }
    }
    size_t k = merge_word(t, (const unsigned char *)w, n, out);
    cache_put(t, i, h, w, n, out->ids + out->n - k, k);
}

void tok_cache_free(tok_tokenizer *t) {
    free(t->cache);
    free(t->cache_keys);
    free(t->cache_ids);
    free(t->sym_id);
    free(t->sym_prev);
    free(t->sym_next);
    free(t->heap);
}
