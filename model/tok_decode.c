// tok_decode.c — ids → bytes, the streaming decoder that holds back half characters, and the UTF-8
// checks both directions need (well-formed per Unicode §3.9, table 3-7: no overlongs, no surrogates,
// nothing above U+10FFFF).
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

// Well-formed second-byte range for each lead byte (the later bytes are always 80..BF).
static int lead_info(unsigned char b, unsigned char *lo, unsigned char *hi) {
    *lo = 0x80, *hi = 0xBF;
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;
    if (b < 0xE0) return 2;
    if (b == 0xE0) *lo = 0xA0;
    if (b == 0xED) *hi = 0x9F;
    if (b < 0xF0) return 3;
    if (b == 0xF0) *lo = 0x90;
    if (b == 0xF4) *hi = 0x8F;
    if (b < 0xF5) return 4;
    return 0;
}

// How many bytes at p form a valid prefix of a character (0 if p[0] cannot start one), and
// whether they are the whole character.
static int valid_prefix(const unsigned char *p, size_t avail, bool *complete) {
    unsigned char lo, hi;
    int need = lead_info(p[0], &lo, &hi);
    *complete = need == 1;
    if (need <= 1) return need;
    int k = 1;
    while (k < need && (size_t)k < avail) {
        unsigned char c = p[k];
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) break;
        k++;
    }
    *complete = k == need;
    return k;
}

int tok_utf8_valid_len(const unsigned char *p, size_t avail) {
    if (avail == 0) return 0;
    bool complete;
    int k = valid_prefix(p, avail, &complete);
    return complete ? k : 0;
}

uint32_t tok_utf8_decode(const unsigned char *p, int *len) {
    if (p[0] < 0x80) return *len = 1, p[0];
    if (p[0] < 0xE0) return *len = 2, ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    if (p[0] < 0xF0) return *len = 3, ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    *len = 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
           (p[3] & 0x3F);
}

size_t tok_utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static const char replacement[] = "\xEF\xBF\xBD"; // U+FFFD

// One U+FFFD per maximal ill-formed subsequence: the longest valid prefix of a character that
// breaks off, or a single byte that starts none (WHATWG's decoder, Python's errors="replace").
char *tok_utf8_sanitize(const char *text, size_t len, size_t *out_len) {
    char *o = fx_malloc(3 * len + 1);
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        bool complete;
        int l = valid_prefix(p + i, len - i, &complete);
        if (complete) {
            memcpy(o + k, p + i, (size_t)l);
            k += (size_t)l, i += (size_t)l;
        } else {
            memcpy(o + k, replacement, 3);
            k += 3, i += (size_t)(l > 0 ? l : 1);
        }
    }
    o[k] = '\0';
    if (out_len) *out_len = k;
    return o;
}

char *tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, bool skip_special, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        if (tok_token_bytes(t, ids[i], &l) && !(skip_special && tok_is_special(t, ids[i]))) total += l;
    }
    char *o = fx_malloc(total + 1), *q = o;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *b = tok_token_bytes(t, ids[i], &l);
        if (!b || (skip_special && tok_is_special(t, ids[i]))) continue;
        memcpy(q, b, l);
        q += l;
    }
    *q = '\0';
    if (len) *len = total;
    return o;
}

// ---- streaming -----------------------------------------------------------------------------

void tok_stream_init(tok_stream *s) { memset(s, 0, sizeof *s); }

void tok_stream_free(tok_stream *s) {
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static void put(tok_stream *s, const void *p, size_t n) {
    if (s->len + n + 1 > s->cap) {
        s->cap = 2 * (s->len + n) + 64;
        s->buf = fx_realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

// Feeds one byte: whole characters go out, an unfinished one waits in held, a sequence that
// cannot be finished becomes U+FFFD (and the byte that broke it starts afresh).
static void feed(tok_stream *s, unsigned char b) {
    for (;;) {
        s->held[s->nheld] = b;
        bool complete;
        int l = valid_prefix(s->held, (size_t)s->nheld + 1, &complete);
        if (complete) {
            put(s, s->held, (size_t)l);
            s->nheld = 0;
            return;
        }
        if (l == s->nheld + 1) { // still a valid prefix: wait for more
            s->nheld++;
            return;
        }
        put(s, replacement, 3);
        if (s->nheld == 0) return; // b itself starts no character
        s->nheld = 0;              // retry b on its own
    }
}

const char *tok_stream_push(tok_stream *s, const tok_tokenizer *t, int32_t id, size_t *len) {
    s->len = 0;
    if (s->buf) s->buf[0] = '\0';
    size_t n;
    const char *b = tok_token_bytes(t, id, &n);
    for (size_t i = 0; b && i < n; i++) feed(s, (unsigned char)b[i]);
    if (!s->buf) put(s, "", 0);
    *len = s->len;
    return s->buf;
}

const char *tok_stream_flush(tok_stream *s, size_t *len) {
    s->len = 0;
    put(s, "", 0);
    if (s->nheld > 0) put(s, replacement, 3);
    s->nheld = 0;
    *len = s->len;
    return s->buf;
}
