// steps.c — see steps.h.
#include "steps.h"

#include <string.h>

#include "../core/fx.h"

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool steps_sep_feed(steps_sep *s, unsigned char c) {
    if (c == '\n') {
        bool blank = s->state == 1;
        s->state = 1;
        return blank;
    }
    if (c != ' ' && c != '\t' && c != '\r') s->state = 0;
    return false;
}

// An exact separator (steps_params.separator), matched over the last bytes seen.
typedef struct {
    const char *sep;
    size_t seplen, tail_len;
    char tail[64];
} exact_sep;

static bool exact_feed(exact_sep *x, unsigned char c) {
    if (x->tail_len == x->seplen) memmove(x->tail, x->tail + 1, --x->tail_len);
    x->tail[x->tail_len++] = (char)c;
    return x->tail_len == x->seplen && memcmp(x->tail, x->sep, x->seplen) == 0;
}

int steps_split(const int32_t *ids, int n, const steps_params *p, steps_piece_fn piece, void *ctx, int32_t *step_end,
                uint8_t *step_part, int max_steps, int32_t *think_end) {
    exact_sep x = {.sep = p->separator, .seplen = p->separator ? strlen(p->separator) : 0};
    FX_ASSERT((!p->separator || (x.seplen > 0 && x.seplen < 64)) && max_steps > 0);
    *think_end = -1;
    if (p->think_end_id >= 0)
        for (int i = 0; i < n; i++)
            if (ids[i] == p->think_end_id) {
                *think_end = i;
                break;
            }
    int nsteps = 0;
    uint8_t part = (*think_end >= 0 || p->starts_in_think) ? 0 : 1;
    steps_sep blank = {0};
    bool content = false; // the open step has non-whitespace text
    for (int i = 0; i < n; i++) {
        bool close = false;
        if (i != *think_end) {
            size_t len = 0;
            const char *s = piece(ctx, ids[i], &len);
            for (size_t k = 0; s && k < len; k++) {
                unsigned char c = (unsigned char)s[k];
                if (!is_space(c)) content = true;
                bool sep = p->separator ? exact_feed(&x, c) : steps_sep_feed(&blank, c);
                if (!close && content && sep) {
                    close = true; // bytes after the separator start the next step
                    content = false;
                    x.tail_len = 0;
                }
            }
        }
        bool boundary = close || i == *think_end || i == n - 1;
        if (!boundary) continue;
        // A piece with no text of its own (only whitespace, or "</think>" right after a step)
        // joins the previous step of its part instead of standing alone.
        bool empty = !close && !content;
        if (empty && nsteps > 0 && step_part[nsteps - 1] == part) step_end[nsteps - 1] = i + 1;
        else if (nsteps < max_steps) step_end[nsteps] = i + 1, step_part[nsteps] = part, nsteps++;
        else step_end[nsteps - 1] = i + 1; // out of room: the rest joins the last step
        if (!close) content = false, x.tail_len = 0, blank.state = 0;
        if (i == *think_end) part = 1;
    }
    return nsteps;
}

// A "</think>" after the first is a special token with no text, as steps_split sees it: it neither
// ends a step nor counts as text. Its length at t + i (before to), else 0.
static size_t invisible(const char *t, size_t i, size_t to) {
    return to - i >= 8 && !memcmp(t + i, "</think>", 8) ? 8 : 0;
}

// Appends the trimmed, non-empty pieces of t[from, to) between blank lines to spans[k..].
static int split_part(const char *t, size_t from, size_t to, uint8_t part, steps_span *spans, int k, int max) {
    steps_sep blank = {0};
    size_t b = from;
    for (size_t i = from; i <= to; i++) {
        size_t skip = i < to ? invisible(t, i, to) : 0;
        if (skip) {
            i += skip - 1;
            continue;
        }
        bool sep = i < to && steps_sep_feed(&blank, (unsigned char)t[i]);
        if (!sep && i < to) continue;
        size_t pb = b, e = i;
        for (size_t n; pb < e && ((n = invisible(t, pb, e)) || is_space((unsigned char)t[pb]));) pb += n ? n : 1;
        for (; e > pb && (is_space((unsigned char)t[e - 1]) || (e - pb >= 8 && invisible(t, e - 8, e)));)
            e -= is_space((unsigned char)t[e - 1]) ? 1 : 8;
        if (e > pb) {
            if (k < max) spans[k++] = (steps_span){pb, e, part};
            else spans[max - 1].end = e; // out of room: the rest joins the last step
        }
        b = i + 1;
    }
    return k;
}

int steps_split_text(const char *text, steps_span *spans, int max, size_t *think_close) {
    FX_ASSERT(max > 0);
    size_t n = strlen(text), from = 0;
    while (from < n && is_space((unsigned char)text[from])) from++;
    if (!strncmp(text + from, "<think>", 7)) from += 7;
    const char *close = strstr(text + from, "</think>");
    size_t tend = close ? (size_t)(close - text) : n;
    *think_close = close ? tend : (size_t)-1;
    int k = split_part(text, from, tend, 0, spans, 0, max);
    if (close) k = split_part(text, tend + 8, n, 1, spans, k, max);
    return k;
}
