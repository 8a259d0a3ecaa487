// steps.h — where the steps of a generated response end, in tokens.
// A response is a thinking trajectory closed by the "</think>" token, then the final response
// (or only one of the two). Each part splits into steps at a separator (default a blank line,
// "\n\n"): a step ends with the token that completes a separator, even when the separator spans
// two tokens, so every token belongs to exactly one step. A step needs some non-whitespace text;
// separators before any such text do not end a step. The "</think>" token closes the last
// thinking step; the response's last step ends at its last token.
#ifndef FLUXRL_STEPS_H
#define FLUXRL_STEPS_H

#include <stddef.h>
#include <stdint.h>

// The bytes of a token (a tokenizer's piece), into *len; NULL for a special token with no text.
typedef const char *(*steps_piece_fn)(void *ctx, int32_t id, size_t *len);

typedef struct {
    const char *separator;  // "\n\n" by default (NULL)
    int32_t think_end_id;   // the "</think>" token id; -1 when the tokenizer has none
    int starts_in_think;    // the prompt opened "<think>": tokens before "</think>" are trajectory
} steps_params;

// Writes at most max_steps step ends (exclusive offsets into ids) and parts (0 trajectory,
// 1 response), and *think_end (index of "</think>" in ids, or -1). Returns the number of steps.
// A response with more steps than max_steps has its remaining tokens in the last step.
int steps_split(const int32_t *ids, int n, const steps_params *p, steps_piece_fn piece, void *ctx, int32_t *step_end,
                uint8_t *step_part, int max_steps, int32_t *think_end);

#endif
