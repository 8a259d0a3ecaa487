// prm_input.h — the traces that `fluxrl prm-score`, `fluxrl select` and prm-train's prm.data read: JSONL lines
// {"problem", "steps": [...]} or {"problem", "response"} (split at blank lines and "</think>"), or an
// HDF5 trace store (decoded with its tokenizer; the steps are the store's step spans).
#ifndef FLUXRL_PRM_INPUT_H
#define FLUXRL_PRM_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fx.h"
#include "../model/tok.h"

#define CLI_PRM_MAX_STEPS 512

typedef struct {
    int64_t index;   // the trace's position in the input, from 0
    char *problem;   // the user turn
    char *response;  // JSONL: "response" as given, or the steps joined by blank lines; HDF5: decoded
                     // (special tokens kept, a final end-of-turn token left out)
    char **steps;    // nsteps trimmed, non-empty step texts
    int nsteps;
    int *store_step; // HDF5: the store step each of them comes from; JSONL: NULL
} prm_input_trace;

// Called for each trace in input order; an error it returns is prefixed with FILE:LINE (JSONL) or
// "FILE: trace I" (HDF5).
typedef int (*prm_input_fn)(void *ctx, const prm_input_trace *t, fx_err *err);

bool prm_input_is_h5(const char *path);
// Reads every trace of path. tok decodes an HDF5 store unless tok_path or the store's own
// "tokenizer" attribute names another one. Bad input: -1 with err naming the file, line and field.
int prm_input_each(const char *path, const char *tok_path, tok_tokenizer *tok, prm_input_fn fn, void *ctx,
                       fx_err *err);
// Splits a response into step texts by fluxrl's one rule (steps_split_text, rollout/steps.h: blank
// lines, also whitespace-only ones; "</think>" ends the trajectory's last step; "<think>" at the
// start dropped; trimmed, empty ones dropped). Returns the count (malloc'd texts).
int prm_input_split(const char *response, char **steps, int max);
// The user turn of a decoded prompt (the whole text when it has none; caller frees): the text
// between the last user-turn opener and the closer after it, both found by rendering the
// tokenizer's chat template over a marker (the opener runs from the last added token before the
// marker, e.g. "<|im_start|>user\n" or "<｜User｜>"; the closer is the first added token after it),
// or ChatML's when the tokenizer has no template. A system turn the prompt may carry is skipped.
char *prm_input_user_turn(tok_tokenizer *t, const char *prompt);

#endif
