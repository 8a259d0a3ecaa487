// steps.c — see steps.h.
#include "steps.h"

#include <stdbool.h>
#include <string.h>

#include "../core/fx.h"

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int steps_split(const int32_t *ids, int n, const steps_params *p, steps_piece_fn piece, void *ctx, int32_t *step_end,
                uint8_t *step_part, int max_steps, int32_t *think_end) {
    const char *sep = p->separator ? p->separator : "\n\n";
    size_t seplen = strlen(sep);
    FX_ASSERT(seplen > 0 && seplen < 64 && max_steps > 0);
    *think_end = -1;
    if (p->think_end_id >= 0)
        for (int i = 0; i < n; i++)
            if (ids[i] == p->think_end_id) {
                *think_end = i;
                break;
            }
    int nsteps = 0;
    uint8_t part = (*think_end >= 0 || p->starts_in_think) ? 0 : 1;
    char tail[64]; // the last bytes seen, to find a separator that spans tokens
    size_t tail_len = 0;
    bool content = false; // the open step has non-whitespace text
    for (int i = 0; i < n; i++) {
        bool close = false;
        if (i != *think_end) {
            size_t len = 0;
            const char *s = piece(ctx, ids[i], &len);
            for (size_t k = 0; s && k < len; k++) {
                if (!is_space((unsigned char)s[k])) content = true;
                if (tail_len == seplen) memmove(tail, tail + 1, --tail_len);
                tail[tail_len++] = s[k];
                if (!close && content && tail_len == seplen && memcmp(tail, sep, seplen) == 0) {
                    close = true; // bytes after the separator start the next step
                    content = false;
                    tail_len = 0;
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
        if (!close) content = false, tail_len = 0;
        if (i == *think_end) part = 1;
    }
    return nsteps;
}
