// steps.h — the one step-splitting rule of fluxrl, on tokens and on text.
// A response is a thinking trajectory closed by "</think>", then the final response (or only one
// of the two). Each part splits into steps at blank lines: a newline, then only spaces, tabs or
// carriage returns, then a newline ("\n\n", "\n  \n", "\r\n\r\n"). A step needs some
// non-whitespace text; blank lines before any such text do not end a step. GRPO (token ends, for
// per-step advantages), prm-score, select, best-of-n and the built-in task's checker all split with
// it, so a response is scored on the same steps in training and in evaluation.
#ifndef FLUXRL_STEPS_H
#define FLUXRL_STEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The blank-line detector both splitters feed byte by byte: state 1 after a newline followed only
// by spaces, tabs or carriage returns, else 0.
typedef struct {
    int state;
} steps_sep;

// Feeds one byte; true when it completes a blank line (the byte is its second newline).
bool steps_sep_feed(steps_sep *s, unsigned char c);

// ---- on tokens ----------------------------------------------------------------------------------
// A step ends with the token that completes a blank line, even when the blank line spans tokens, so
// every token belongs to exactly one step. The "</think>" token closes the last thinking step; the
// response's last step ends at its last token.

// The bytes of a token (a tokenizer's piece), into *len; NULL for a special token with no text.
typedef const char *(*steps_piece_fn)(void *ctx, int32_t id, size_t *len);

typedef struct {
    const char *separator;  // NULL: the blank-line rule above (what fluxrl uses); else an exact string
    int32_t think_end_id;   // the "</think>" token id; -1 when the tokenizer has none
    int starts_in_think;    // the prompt opened "<think>": tokens before "</think>" are trajectory
} steps_params;

// Writes at most max_steps step ends (exclusive offsets into ids) and parts (0 trajectory,
// 1 response), and *think_end (index of "</think>" in ids, or -1). Returns the number of steps.
// A response with more steps than max_steps has its remaining tokens in the last step.
int steps_split(const int32_t *ids, int n, const steps_params *p, steps_piece_fn piece, void *ctx, int32_t *step_end,
                uint8_t *step_part, int max_steps, int32_t *think_end);

// ---- on text ------------------------------------------------------------------------------------
// text: a NUL-terminated response. A "<think>" at its start (after whitespace) is dropped; the first
// "</think>" ends the thinking part; a later "</think>" is text-less, as the token is to steps_split
// (it neither ends a step nor makes one). Steps are trimmed of whitespace (space, tab, CR, LF) and of
// such "</think>", empty ones dropped; with more than max steps the rest joins the last one.
typedef struct {
    size_t begin, end; // the trimmed step text[begin, end)
    uint8_t part;      // 0 before "</think>" (every step when there is none), 1 after it
} steps_span;

// Returns the number of steps written to spans; *think_close is the offset of "</think>" in text,
// or (size_t)-1 when there is none.
int steps_split_text(const char *text, steps_span *spans, int max, size_t *think_close);

#endif
