// msg.h — typed messages between ranks (layout in docs/protocol.md).
// A message is one contiguous buffer: a 72-byte header (magic, protocol version, kind, sender,
// policy version, sequence number, the counts of each payload array, the payload size) and the
// payload, the arrays back to back. Everything is validated on receipt: a malformed message is
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
#define MSG_PROTOCOL 1
#define MSG_MAX_BYTES ((size_t)1 << 30) // one message at most 1 GiB
#define MSG_NCOUNTS 4

typedef enum {
    MSG_TRACES = 1, // a trace batch: counts = {traces, prompt ids, response ids, steps}
    MSG_STOP = 2,   // no payload: the receiver finishes its loop
} msg_kind;

typedef struct {
    uint32_t magic;
    uint16_t protocol;
    uint16_t kind;
    int32_t sender;          // world rank
    int32_t reserved;
    int64_t policy_version;
    uint64_t seq;            // per sender, increasing
    uint64_t counts[MSG_NCOUNTS];
    uint64_t payload_bytes;
} msg_header;
_Static_assert(sizeof(msg_header) == 72, "msg_header is 72 bytes on the wire");

// A message being built or received: header + payload in one buffer.
typedef struct {
    unsigned char *buf;
    size_t len, cap;
} msg_buf;

void msg_buf_free(msg_buf *m);
const msg_header *msg_head(const msg_buf *m);

// Encodes a trace batch.
void msg_encode_traces(msg_buf *m, const trace_batch *b, int sender, int64_t policy_version, uint64_t seq);
void msg_encode_stop(msg_buf *m, int sender, uint64_t seq);
// Validates the header of a received buffer; `who` names the sender in errors ("rank 3 (rollout)").
int msg_check_header(const msg_buf *m, const char *who, fx_err *err);
// Decodes a validated MSG_TRACES into b (cleared first), checking every span and step.
int msg_decode_traces(const msg_buf *m, const char *who, trace_batch *b, fx_err *err);

// Blocking send to a world rank.
void msg_send(const msg_buf *m, int dest, int tag);
// Receives one message from world rank `source` (or MPI_ANY_SOURCE) with `tag` into m, and checks
// its header; *from is the sender's world rank; errors name it with its role in w.
int msg_recv(msg_buf *m, int source, int tag, const comm_world *w, int *from, fx_err *err);
// "rank 3 (rollout)": how errors name a rank.
void msg_who(const comm_world *w, int rank, char *buf, size_t n);

#endif
