// trace.h — trajectory-response traces, the data every role exchanges.
// A trace is a prompt, a sampled response (a thinking trajectory "<think>…</think>" then the final
// response), the log-probability of each sampled token under the sampling distribution, the
// steps the response splits into, and the rewards the reward ranks attach. Traces travel in
// batches of flat arrays (CSR layout): no pointers inside, so a batch is a handful of contiguous
// buffers that MPI sends and HDF5 appends as they are.
#ifndef FLUXRL_TRACE_H
#define FLUXRL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fx.h"

typedef enum { TRACE_FINISH_EOS = 0, TRACE_FINISH_STOP, TRACE_FINISH_LENGTH, TRACE_FINISH_ABORT } trace_finish;
#define TRACE_FINISH_NAMES "eos", "stop", "length", "abort"

// One trace as a view: the arrays belong to whoever built it (usually a trace_batch).
typedef struct {
    int64_t group;          // the prompt's group: the samples of one prompt share it
    int32_t sample;         // index within the group
    int64_t policy_version; // version of the weights that generated it
    int32_t finish;         // trace_finish
    int32_t think_end;      // index in response of the "</think>" token; -1 when there is none
    int32_t n_prompt, n_response, n_steps;
    const int32_t *prompt;          // [n_prompt] token ids
    const int32_t *response;        // [n_response] token ids
    const float *logprobs;          // [n_response] log-prob of each sampled token
    const float *ref_logprobs;      // [n_response] the reference policy's log-probs (NULL: NaN, not computed)
    const int32_t *step_end;        // [n_steps] exclusive end offsets into response, increasing
    const uint8_t *step_part;       // [n_steps] 0: thinking trajectory, 1: final response
    const float *step_reward;       // [n_steps] NaN until scored
    float outcome_reward;           // verifier; NaN until computed
    float trajectory_reward;        // PRM trajectory-level reward; NaN until computed
    float final_reward;             // what the trainer uses; NaN until computed
} trace;

// Many traces, flat. Per trace i: fields [i]; its prompt ids are prompt_ids[prompt_start[i] ...
// + prompt_len[i]), likewise response ids and log-probs (response_start/len) and steps.
typedef struct {
    int64_t n, cap;
    int64_t *group, *policy_version, *prompt_start, *response_start, *step_start;
    int32_t *sample, *finish, *think_end, *prompt_len, *response_len, *step_count;
    float *outcome_reward, *trajectory_reward, *final_reward;
    int64_t n_prompt_ids, cap_prompt_ids, n_response_ids, cap_response_ids, n_steps, cap_steps;
    int32_t *prompt_ids, *response_ids, *step_end;
    float *logprobs, *ref_logprobs, *step_reward;
    uint8_t *step_part;
} trace_batch;

void trace_batch_init(trace_batch *b);
void trace_batch_free(trace_batch *b);
void trace_batch_clear(trace_batch *b); // empty, capacity kept
// Copies t into the batch (step_reward may be NULL: NaN).
void trace_batch_add(trace_batch *b, const trace *t);
// A view of trace i (valid until the batch changes).
trace trace_batch_get(const trace_batch *b, int64_t i);
// Appends every trace of src.
void trace_batch_append(trace_batch *b, const trace_batch *src);
// Sizes the batch to exactly n traces and the given item counts, for decoders that fill the
// arrays directly. Contents up to the old sizes are kept; anything beyond is undefined.
void trace_batch_resize(trace_batch *b, int64_t n, int64_t prompt_ids, int64_t response_ids, int64_t steps);
// Checks every trace's spans lie inside the arrays, steps end inside their response in increasing
// order, and finish reasons are known. `source` names the data in errors (a file, a sender).
int trace_batch_check(const trace_batch *b, const char *source, fx_err *err);

// The arrays of a batch, described once for every serialiser (HDF5 store, MPI messages).
typedef enum { TRACE_PER_TRACE, TRACE_PER_PROMPT_ID, TRACE_PER_RESPONSE_ID, TRACE_PER_STEP } trace_per;
typedef enum { TRACE_I64, TRACE_I32, TRACE_F32, TRACE_U8 } trace_type;
typedef struct {
    const char *name; // e.g. "response_start"
    trace_per per;
    trace_type type;
    size_t field; // offsetof(trace_batch, array)
} trace_column;
extern const trace_column trace_columns[];
extern const int trace_ncolumns;
size_t trace_type_size(trace_type t);
int64_t trace_batch_rows(const trace_batch *b, trace_per per);
static inline void *trace_batch_array(const trace_batch *b, const trace_column *c) {
    return *(void *const *)((const char *)b + c->field);
}

#endif
