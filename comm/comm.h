// comm.h — the MPI world of a fluxrl job and the role each rank plays in it.
// Ranks [0, T) are trainers, [T, T+R) rollout ranks, [T+R, T+R+W) reward ranks, from the config's
// cluster.* keys. A job started without mpirun (world size 1) runs every role in one process.
#ifndef FLUXRL_COMM_H
#define FLUXRL_COMM_H

#include <mpi.h>
#include <stdbool.h>

#include "../core/config.h"
#include "../core/fx.h"

typedef enum { COMM_ROLE_TRAINER = 0, COMM_ROLE_ROLLOUT, COMM_ROLE_REWARD, COMM_ROLE_ALL } comm_role;

typedef struct {
    int rank, size;       // in MPI_COMM_WORLD
    comm_role role;
    int role_rank, role_size; // within the role's communicator
    int local_rank, local_size; // among the ranks on this node
    MPI_Comm role_comm;   // the ranks of this rank's role
    MPI_Comm node_comm;   // the ranks on this node
    MPI_Comm sync_comm;   // the trainer leader (rank 0 in it) and every rollout and reward rank;
                          // MPI_COMM_NULL on the other trainers
    MPI_Comm policy_comm; // the trainer leader (rank 0 in it) and every rollout rank: the ranks that
                          // need each new policy version (the reference on reward ranks is frozen);
                          // MPI_COMM_NULL elsewhere
    int first[3], count[3]; // first world rank and number of ranks of each role
    char host[MPI_MAX_PROCESSOR_NAME];
} comm_world;

const char *comm_role_name(comm_role role);

// MPI_Init (thread level FUNNELED) and the abort hook: from here on, fx_fatal on any rank ends
// the whole job with a message naming the rank and role. Call once, first thing.
void comm_init(int *argc, char ***argv);
void comm_finalize(void);

// The world rank and size before roles are known (for logging and checks).
int comm_world_rank(void);
// The MPI library's name and version (its first line, e.g. "Open MPI v4.1.4"), into buf.
void comm_mpi_version(char *buf, size_t n);
int comm_world_size(void);
// This rank's index among the ranks of its node (collective over the world: every rank calls it).
int comm_local_rank(void);

// Splits MPI_COMM_WORLD into roles per the config. A world size other than the sum of the
// cluster.*_ranks keys (and not 1) is bad input: err names both numbers.
int comm_world_build(comm_world *w, const fx_config *cfg, fx_err *err);
void comm_world_free(comm_world *w);
// The role of any world rank of w.
comm_role comm_role_of(const comm_world *w, int rank);

// Every rank learns whether any rank failed, so all of them stop together instead of some waiting
// forever in a collective. `code` is this rank's exit code (0: fine). Returns the highest code of
// any rank; *first_bad is the lowest failing world rank (-1 when none), the one that reports.
int comm_agree(int code, int *first_bad);

// CPU threads for this rank: cluster.threads, or the node's cores shared among its ranks.
int comm_threads_per_rank(const comm_world *w, const fx_config *cfg);

// Fails fast on an MPI error code, naming the call.
#define COMM_CHECK(call)                                                                       \
    do {                                                                                       \
        int comm_rc_ = (call);                                                                 \
        if (comm_rc_ != MPI_SUCCESS) {                                                         \
            char comm_msg_[MPI_MAX_ERROR_STRING];                                              \
            int comm_len_ = 0;                                                                 \
            MPI_Error_string(comm_rc_, comm_msg_, &comm_len_);                                 \
            fx_fatal("MPI call failed: %s: %s", #call, comm_msg_);                             \
        }                                                                                      \
    } while (0)

#endif
