// world.c — MPI start-up, roles and failure propagation. See comm.h.
#define _POSIX_C_SOURCE 200809L
#include "comm.h"

#include <unistd.h>

#include <stdio.h>
#include <string.h>

#include "../core/log.h"

static const char *role_names[] = {"trainer", "rollout", "reward", "all"};

const char *comm_role_name(comm_role role) { return role_names[role]; }

static void comm_abort(int code) {
    int up = 0;
    MPI_Initialized(&up);
    int down = 0;
    MPI_Finalized(&down);
    if (up && !down && comm_world_size() > 1) {
        fx_error("rank %d (%s) failed; bringing the job down", comm_world_rank(), fx_log_role());
        MPI_Abort(MPI_COMM_WORLD, code);
    }
}

void comm_init(int *argc, char ***argv) {
    int provided = 0;
    COMM_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    // Errors come back as codes (checked by COMM_CHECK, which names the call) instead of
    // MPI's default handler killing the job with no context.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    fx_set_abort_hook(comm_abort);
    fx_log_set_rank(comm_world_size() > 1 ? comm_world_rank() : -1, comm_world_size() > 1 ? "?" : "");
}

void comm_finalize(void) {
    int down = 0;
    MPI_Finalized(&down);
    if (!down) MPI_Finalize();
    fx_set_abort_hook(NULL);
}

int comm_world_rank(void) {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int comm_local_rank(void) {
    MPI_Comm node;
    int r = 0;
    COMM_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    COMM_CHECK(MPI_Comm_rank(node, &r));
    MPI_Comm_free(&node);
    return r;
}

int comm_world_size(void) {
    int s = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

void comm_mpi_version(char *buf, size_t n) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    v[strcspn(v, ",\n")] = '\0';
    snprintf(buf, n, "%s", v);
}

int comm_agree(int code, int *first_bad) {
    int in[2] = {code, code != 0 ? -comm_world_rank() : -comm_world_size()}, out[2];
    COMM_CHECK(MPI_Allreduce(in, out, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    *first_bad = -out[1] < comm_world_size() ? -out[1] : -1;
    return out[0];
}

int comm_threads_per_rank(const comm_world *w, const fx_config *cfg) {
    if (cfg->cluster.threads > 0) return (int)cfg->cluster.threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = (int)(cores / (w->local_size > 0 ? w->local_size : 1));
    return t > 0 ? t : 1;
}

int comm_world_build(comm_world *w, const fx_config *cfg, fx_err *err) {
    memset(w, 0, sizeof *w);
    w->rank = comm_world_rank();
    w->size = comm_world_size();
    int counts[3] = {(int)cfg->cluster.trainer_ranks, (int)cfg->cluster.rollout_ranks,
                     (int)cfg->cluster.reward_ranks};
    int want = counts[0] + counts[1] + counts[2];
    if (w->size != 1 && w->size != want)
        return fx_errf(err,
                       "cluster: the MPI world has %d ranks but the config asks for %d "
                       "(trainer_ranks %d + rollout_ranks %d + reward_ranks %d); launch with "
                       "mpirun -np %d or change cluster.*_ranks",
                       w->size, want, counts[0], counts[1], counts[2], want);
    if (w->size == 1) {
        w->role = COMM_ROLE_ALL;
        for (int r = 0; r < 3; r++) w->first[r] = 0, w->count[r] = 1;
    } else {
        int first = 0;
        for (int r = 0; r < 3; r++) {
            w->first[r] = first, w->count[r] = counts[r];
            if (w->rank >= first && w->rank < first + counts[r]) w->role = (comm_role)r;
            first += counts[r];
        }
    }
    COMM_CHECK(MPI_Comm_split(MPI_COMM_WORLD, (int)w->role, w->rank, &w->role_comm));
    COMM_CHECK(MPI_Comm_rank(w->role_comm, &w->role_rank));
    COMM_CHECK(MPI_Comm_size(w->role_comm, &w->role_size));
    COMM_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &w->node_comm));
    COMM_CHECK(MPI_Comm_rank(w->node_comm, &w->local_rank));
    COMM_CHECK(MPI_Comm_size(w->node_comm, &w->local_size));
    bool in_sync = w->rank == 0 || w->role != COMM_ROLE_TRAINER;
    COMM_CHECK(MPI_Comm_split(MPI_COMM_WORLD, in_sync ? 0 : MPI_UNDEFINED, w->rank, &w->sync_comm));
    bool in_policy = w->rank == 0 || w->role == COMM_ROLE_ROLLOUT;
    COMM_CHECK(MPI_Comm_split(MPI_COMM_WORLD, in_policy ? 0 : MPI_UNDEFINED, w->rank, &w->policy_comm));
    int len = 0;
    MPI_Get_processor_name(w->host, &len);
    if (w->size > 1) fx_log_set_rank(w->rank, comm_role_name(w->role));
    return 0;
}

comm_role comm_role_of(const comm_world *w, int rank) {
    if (w->size == 1) return COMM_ROLE_ALL;
    for (int r = 0; r < 3; r++)
        if (rank >= w->first[r] && rank < w->first[r] + w->count[r]) return (comm_role)r;
    return COMM_ROLE_ALL;
}

void comm_world_free(comm_world *w) {
    if (w->role_comm != MPI_COMM_NULL && w->role_comm) MPI_Comm_free(&w->role_comm);
    if (w->node_comm != MPI_COMM_NULL && w->node_comm) MPI_Comm_free(&w->node_comm);
    if (w->sync_comm != MPI_COMM_NULL && w->sync_comm) MPI_Comm_free(&w->sync_comm);
    if (w->policy_comm != MPI_COMM_NULL && w->policy_comm) MPI_Comm_free(&w->policy_comm);
}
