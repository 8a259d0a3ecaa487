// tok_encode.c — text → ids: UTF-8 repair, added tokens, normalizer, pre-tokenizer, then BPE
// (tok_bpe.c) on each piece. The order and the matching rules are HF tokenizers' (AddedVocabulary,
// PreTokenizedString::split), so that ids equal the reference's.
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_internal.h"

// Rust's char::is_whitespace (the White_Space property), which lstrip/rstrip strip.
static bool is_space(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// \w of Unicode regexes (letters, marks, digits, connector punctuation, joiners): single_word's
// notion of a word character.
static bool is_word(uint32_t c) {
    if (c == 0x200C || c == 0x200D) return true;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) || cat == UTF8PROC_CATEGORY_ND ||
           cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_PC;
}

// The last character of s[0..n) (valid UTF-8, n > 0).
static uint32_t last_char(const char *s, size_t n) {
    size_t i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    int l;
    return tok_utf8_decode((const unsigned char *)s + i, &l);
}

static size_t prev_char_start(const char *s, size_t i) {
    i--;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return i;
}

// Leftmost-longest match of an added token (of the normalized or the raw kind) at or after from.
static int find_added(const tok_tokenizer *t, const char *s, size_t n, size_t from, bool normalized, size_t *at) {
    for (size_t p = from; p < n; p++) {
        unsigned char b = (unsigned char)s[p];
        for (int k = t->added_first[b]; k < t->added_first[b + 1]; k++) {
            const tok_added *a = &t->added[k];
            if (a->normalized == normalized && a->len <= n - p && memcmp(a->content, s + p, a->len) == 0) {
                *at = p;
                return k;
            }
        }
    }
    return -1;
}

static void pretokenize(tok_tokenizer *t, const char *s, size_t n, int step, tok_ids *out);
static void normalized_gap(tok_tokenizer *t, const char *s, size_t n, tok_ids *out);

// Splits s around its added tokens; the text between them goes on to gap().
static void split_added(tok_tokenizer *t, const char *s, size_t n, bool normalized,
                        void (*gap)(tok_tokenizer *, const char *, size_t, tok_ids *), tok_ids *out) {
    size_t done = 0, from = 0, at;
    int k;
    while (t->nadded && (k = find_added(t, s, n, from, normalized, &at)) >= 0) {
        const tok_added *a = &t->added[k];
        size_t start = at, stop = at + a->len;
        from = stop;
        if (a->single_word && ((start > 0 && is_word(last_char(s, start))) ||
                               (stop < n && is_word(tok_utf8_decode((const unsigned char *)s + stop, &(int){0})))))
            continue;
        if (a->lstrip) {
            while (start > done) {
                size_t p = prev_char_start(s, start);
                int l;
                if (!is_space(tok_utf8_decode((const unsigned char *)s + p, &l))) break;
                start = p;
            }
        }
        if (a->rstrip) {
            while (stop < n) {
                int l;
                if (!is_space(tok_utf8_decode((const unsigned char *)s + stop, &l))) break;
                stop += (size_t)l;
            }
            from = stop;
        }
        if (start > done) gap(t, s + done, start - done, out);
        tok_ids_push(out, a->id);
        done = stop;
    }
    if (done < n) gap(t, s + done, n - done, out);
}

static void raw_gap(tok_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    char *norm = NULL;
    size_t nl = n;
    bool ascii = true;
    for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)s[i] < 0x80;
    if (t->normalizer && !ascii) { // ASCII is stable under every normalization form
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t r =
            utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst, (utf8proc_option_t)t->normalizer);
        FX_ASSERT(r >= 0); // the text was made valid UTF-8 before
        norm = (char *)dst, nl = (size_t)r;
    }
    const char *p = norm ? norm : s;
    if (t->any_normalized_added)
        split_added(t, p, nl, true, normalized_gap, out);
    else
        pretokenize(t, p, nl, 0, out);
    free(norm);
}

static void normalized_gap(tok_tokenizer *t, const char *s, size_t n, tok_ids *out) { pretokenize(t, s, n, 0, out); }

// One span of a Split, in order; behaviours that merge spans keep one pending span.
typedef struct {
    size_t start, end;
    bool is_match, open;
} span;

static void emit(tok_tokenizer *t, const char *s, const tok_step *st, int step, span *pend, size_t a, size_t b,
                 bool is_match, tok_ids *out) {
    if (a == b) return;
    switch (st->behavior) {
    case TOK_SPLIT_ISOLATED: pretokenize(t, s + a, b - a, step + 1, out); return;
    case TOK_SPLIT_REMOVED:
        if (!is_match) pretokenize(t, s + a, b - a, step + 1, out);
        return;
    case TOK_SPLIT_MERGED_PREV: // a match joins the span before it
        if (is_match && pend->open && !pend->is_match) {
            pend->end = b, pend->is_match = true;
            return;
        }
        break;
    case TOK_SPLIT_MERGED_NEXT: // a match opens the span after it
        if (!is_match && pend->open && pend->is_match) {
            pend->end = b, pend->is_match = false;
            return;
        }
        break;
    case TOK_SPLIT_CONTIGUOUS: // consecutive spans of the same kind are one span
        if (pend->open && pend->is_match == is_match) {
            pend->end = b;
            return;
        }
        break;
    }
    if (pend->open) pretokenize(t, s + pend->start, pend->end - pend->start, step + 1, out);
    *pend = (span){a, b, is_match, true};
}

static void pretokenize(tok_tokenizer *t, const char *s, size_t n, int step, tok_ids *out) {
    if (n == 0) return;
    if (step == t->nsteps) {
        tok_bpe_word(t, s, n, out);
        return;
    }
    const tok_step *st = &t->steps[step];
    char *tmp = NULL;
    if (st->bytelevel && st->add_prefix_space && s[0] != ' ') {
        tmp = fx_malloc(n + 1);
        tmp[0] = ' ';
        memcpy(tmp + 1, s, n);
        s = tmp, n++;
    }
    if (!st->re) {
        pretokenize(t, s, n, step + 1, out);
        free(tmp);
        return;
    }
    // Each match is one span; the text between matches another (invert swaps which is the match).
    // Deeper steps reuse the match data, so the positions are copied out before recursing.
    span pend = {0, 0, false, false};
    size_t pos = 0, prev = 0;
    while (pos < n) {
        int rc = pcre2_match(st->re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, t->md, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) // JIT stack exhausted: the interpreter uses the heap
            rc = pcre2_match(st->re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, t->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0)
            fx_fatal("pre-tokenizer regex: PCRE2 error %d on a %zu-byte piece", rc, n); // never silently other ids
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { // an empty match splits nothing; step over one character
            int l = tok_utf8_valid_len((const unsigned char *)s + ms, n - ms);
            pos = ms + (size_t)(l > 0 ? l : 1);
            continue;
        }
        emit(t, s, st, step, &pend, prev, ms, st->invert, out);
        emit(t, s, st, step, &pend, ms, me, !st->invert, out);
        prev = pos = me;
    }
    emit(t, s, st, step, &pend, prev, n, st->invert, out);
    if (pend.open) pretokenize(t, s + pend.start, pend.end - pend.start, step + 1, out);
    free(tmp);
}

void tok_encode(tok_tokenizer *t, const char *text, size_t len, tok_ids *out) {
    char *clean = NULL;
    for (size_t i = 0; i < len;) {
        if ((unsigned char)text[i] < 0x80) {
            i++;
            continue;
        }
        int l = tok_utf8_valid_len((const unsigned char *)text + i, len - i);
        if (l == 0) {
            clean = tok_utf8_sanitize(text, len, &len);
            text = clean;
            break;
        }
        i += (size_t)l;
    }
    split_added(t, text, len, false, raw_gap, out);
    free(clean);
}
