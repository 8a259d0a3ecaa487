// msg.h — typed messages between ranks (layout in docs/protocol.md).
// A message is one contiguous buffer: an 88-byte header (magic, protocol version, kind, sender,
// policy version, sequence number, the counts of each payload array, the payload size, the seconds
// the payload took to generate and to score, a stop's exit code, the update of work and trainer
// shares) and the payload, the arrays back to back. Everything is validated on receipt: a malformed message is
// an error naming the sender, its role and the field, never a crash.
#ifndef FLUXRL_MSG_H
#define FLUXRL_MSG_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/fx.h"
#include "../rollout/trace.h"
#include "comm.h"

#define MSG_MAGIC 0x4C52584Du // "MXRL" little-endian
#define MSG_PROTOCOL 7
#define MSG_MAX_BYTES ((size_t)1 << 30) // one message at most 1 GiB
#define MSG_NCOUNTS 4

typedef enum {
    MSG_TRACES = 1, // a trace batch: counts = {traces, prompt ids, response ids, steps}
    MSG_STOP = 2,   // no payload: the receiver finishes its loop and exits with `code`
    MSG_WORK = 3,   // the trainer leader's order to a rollout rank: generate the groups of
                    // counts[0] problems for `update`; payload i64[counts[0]], their indices
    MSG_SYNC = 4,   // no payload: enter weight sync now (policy_version: the version that follows);
                    // to a trainer holding a slice of sharded weights (trainer.shard = full): send
                    // its slice's part of each bucket the leader sends
    MSG_TRAIN = 5,  // the leader's share of `update`'s kept groups for another trainer: a trace
                    // batch as in MSG_TRACES
    MSG_CKPT = 6,   // no payload: the leader writes a checkpoint; a trainer holding a slice of the
                    // sharded optimiser state (trainer.shard) sends it (train_ckpt_save)
    MSG_EVAL = 7,   // the leader's order to the first rollout rank: evaluate the policy it holds
                    // (policy_version) on the held-out problems, no payload; its reply, on
                    // MSG_TAG_EVAL: payload f64[counts[0]] (MSG_EVAL_VALUES numbers, or none when
                    // the run has nothing to evaluate on)
    MSG_SAVE = 8,   // no payload: the leader saves the policy (an export or the final model); a
                    // trainer holding a slice of sharded weights sends its part of each tensor
} msg_kind;

// The numbers of an evaluation's reply: problems, answers right, steps right, traces closed, mean length.
#define MSG_EVAL_VALUES 5

// The MPI tags of `fluxrl train`'s messages, one per direction, so that each loop receives only
// what it waits for: work, syncs and stops to rollout ranks; generated traces to reward ranks;
// scored traces to the trainer leader (and, from any rank, a request to stop: a signal reached it);
// trace shares and stops to the other trainers.
enum { MSG_TAG_WORK = 11, MSG_TAG_GEN = 12, MSG_TAG_SCORED = 13, MSG_TAG_TRAIN = 14, MSG_TAG_EVAL = 15 };

typedef struct {
    uint32_t magic;
    uint16_t protocol;
    uint16_t kind;
    int32_t sender;          // world rank
    float time_rollout_s;    // traces: seconds the rollout rank spent generating them
    int64_t policy_version;
    uint64_t seq;            // per sender, increasing
    uint64_t counts[MSG_NCOUNTS];
    uint64_t payload_bytes;
    float time_reward_s;     // traces: seconds the reward rank spent scoring them
    int32_t code;            // stop: the exit code the receiver ends with (0-255); else 0
    int64_t update;          // work and train: the update they are for (>= 0); else -1
} msg_header;
_Static_assert(sizeof(msg_header) == 88, "msg_header is 88 bytes on the wire");

// A message being built or received: header + payload in one buffer.
typedef struct {
    unsigned char *buf;
    size_t len, cap;
} msg_buf;

void msg_buf_free(msg_buf *m);
const msg_header *msg_head(const msg_buf *m);

// Sets the timing fields of an encoded message.
void msg_set_times(msg_buf *m, float rollout_s, float reward_s);
// Encodes a trace batch.
void msg_encode_traces(msg_buf *m, const trace_batch *b, int sender, int64_t policy_version, uint64_t seq);
// A trainer's share of update `update` (MSG_TRAIN).
void msg_encode_train(msg_buf *m, const trace_batch *b, int sender, int64_t update, uint64_t seq);
// Stop, with the exit code the receiver ends with (0-255).
void msg_encode_stop(msg_buf *m, int sender, int code, uint64_t seq);
void msg_encode_sync(msg_buf *m, int sender, int64_t version, uint64_t seq);
void msg_encode_ckpt(msg_buf *m, int sender, uint64_t seq);
void msg_encode_save(msg_buf *m, int sender, uint64_t seq);
// Evaluate (n = 0: the order), or an evaluation's n numbers (n: 0 or MSG_EVAL_VALUES).
void msg_encode_eval(msg_buf *m, int sender, int64_t version, const double *values, int n, uint64_t seq);
// Decodes a validated MSG_EVAL: *n numbers (0 or MSG_EVAL_VALUES), each finite, into values.
int msg_decode_eval(const msg_buf *m, const char *who, double *values, int *n, fx_err *err);
// Work: generate the groups of `n` problems (their indices) for update `update`.
void msg_encode_work(msg_buf *m, int sender, int64_t update, const int64_t *problems, int64_t n, uint64_t seq);
// Decodes a validated MSG_WORK: *problems points into m (n of them).
int msg_decode_work(const msg_buf *m, const char *who, int64_t *update, const int64_t **problems, int64_t *n,
                    fx_err *err);
// Validates the header of a received buffer; `who` names the sender in errors ("rank 3 (rollout)").
int msg_check_header(const msg_buf *m, const char *who, fx_err *err);
// Decodes a validated MSG_TRACES or MSG_TRAIN into b (cleared first), checking every span and step.
int msg_decode_traces(const msg_buf *m, const char *who, trace_batch *b, fx_err *err);

// Blocking send to a world rank.
void msg_send(const msg_buf *m, int dest, int tag);
// Receives one message from world rank `source` (or MPI_ANY_SOURCE) with `tag` into m, and checks
// its header; *from is the sender's world rank; errors name it with its role in w.
int msg_recv(msg_buf *m, int source, int tag, const comm_world *w, int *from, fx_err *err);
// While msg_recv waits, idle() is called about every millisecond (NULL: msg_recv blocks in
// MPI_Probe): the ranks of `fluxrl train` watch for stop signals this way. Process-wide.
void msg_set_idle(void (*idle)(void));
// "rank 3 (rollout)": how errors name a rank.
void msg_who(const comm_world *w, int rank, char *buf, size_t n);
// A message of a kind the receiver does not take here: the error names the sender, the kind and
// what was expected ("traces (1) or stop (2)").
int msg_unexpected(const msg_buf *m, const char *who, const char *expected, fx_err *err);

#endif
