// ranks.c — `fluxrl ranks`: the launch as the config lays it out, checked on every rank: each
// rank's role, host, device and threads, and a collective over the world and over every role's
// communicator (pipeline.h).
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../comm/comm.h"
#include "../core/log.h"
#include "../model/cuda/cuda_info.h"
#include "pipeline.h"

#define LINE 320

// This rank's line of the table, after checking that its backend is there.
static int describe_rank(const comm_world *w, const fx_config *c, char *line, fx_err *err) {
    int threads = comm_threads_per_rank(w, c);
    omp_set_num_threads(threads);
    char dev[32] = "cpu";
    if (strcmp(c->cluster.backend, "cuda") == 0) {
        model_cuda_info cu;
        model_cuda_query(&cu);
        if (cu.devices == 0)
            return fx_errf(err, "cluster.backend: \"cuda\", but rank %d (%s) on %s has no CUDA device: %s", w->rank,
                           comm_role_name(w->role), w->host, cu.note);
        snprintf(dev, sizeof dev, "cuda:%d", w->local_rank % cu.devices);
    }
    snprintf(line, LINE, "%5d  %-8s %5d/%-5d %-20.20s %5d  %-8s %7d", w->rank, comm_role_name(w->role), w->role_rank,
             w->role_size, w->host, w->local_rank, dev, threads);
    return 0;
}

// The world and every role communicator reduce correctly: the sum of world ranks over each.
static int check_collectives(const comm_world *w, fx_err *err) {
    long long mine = w->rank, world = 0, role = 0;
    COMM_CHECK(MPI_Allreduce(&mine, &world, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD));
    COMM_CHECK(MPI_Allreduce(&mine, &role, 1, MPI_LONG_LONG, MPI_SUM, w->role_comm));
    long long n = w->size, want_world = n * (n - 1) / 2;
    long long f = w->size == 1 ? 0 : w->first[w->role], k = w->role_size, want_role = k * f + k * (k - 1) / 2;
    if (world != want_world || role != want_role)
        return fx_errf(err, "rank %d (%s): allreduce gave %lld (world) and %lld (role), expected %lld and %lld",
                       w->rank, comm_role_name(w->role), world, role, want_world, want_role);
    return 0;
}

// The table of ranks on rank 0 (into *out, malloc'd), and the resolved config in the run folder.
static int report(const comm_world *w, const fx_config *c, const char *line, char **out, fx_err *err) {
    char *all = w->rank == 0 ? fx_malloc((size_t)w->size * LINE) : NULL;
    COMM_CHECK(MPI_Gather(line, LINE, MPI_CHAR, all, LINE, MPI_CHAR, 0, MPI_COMM_WORLD));
    int rc = 0;
    if (w->rank == 0) {
        char dir[2 * FX_CFG_STR_LEN + 2];
        cfg_run_dir(c, dir, sizeof dir);
        size_t cap = (size_t)(w->size + 4) * (LINE + 1) + sizeof dir + 64, n = 0;
        char *t = fx_malloc(cap);
        n += (size_t)snprintf(t + n, cap - n, "%d rank%s: %d trainer, %d rollout, %d reward%s\n", w->size,
                              w->size > 1 ? "s" : "", w->count[0], w->count[1], w->count[2],
                              w->size == 1 ? " (one process plays every role)" : "");
        n += (size_t)snprintf(t + n, cap - n, " rank  role      in role  host                 local  backend  threads\n");
        for (int i = 0; i < w->size; i++) n += (size_t)snprintf(t + n, cap - n, "%s\n", all + (size_t)i * LINE);
        n += (size_t)snprintf(t + n, cap - n, "collectives: ok (world and every role communicator)\n");
        rc = cfg_write_resolved(c, err);
        if (!rc) snprintf(t + n, cap - n, "resolved config: %s/config.json\n", dir);
        *out = t;
    }
    free(all);
    return rc;
}

int pipeline_ranks(int *argc, char ***argv, const char *path, int nset, char **sets, char **table) {
    *table = NULL;
    comm_init(argc, argv);
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err = {{0}};
    comm_world w = {0};
    char line[LINE] = "";
    int bad = -1, code = 0;
    // Each stage runs on every rank; all ranks stop together when any of them failed, and the
    // lowest failing rank says why. Bad config or launch: exit 2; a broken runtime: exit 1.
    int mine = cfg_resolve(c, path, nset, sets, &err) ? FX_EXIT_INPUT : 0;
    if (!(code = comm_agree(mine, &bad))) {
        cfg_apply_log(c);
        mine = comm_world_build(&w, c, &err) ? FX_EXIT_INPUT : 0;
    }
    if (!code && !(code = comm_agree(mine, &bad))) mine = describe_rank(&w, c, line, &err) ? FX_EXIT_INPUT : 0;
    if (!code && !(code = comm_agree(mine, &bad))) mine = check_collectives(&w, &err) ? FX_EXIT_FAIL : 0;
    if (!code && !(code = comm_agree(mine, &bad))) mine = report(&w, c, line, table, &err) ? FX_EXIT_FAIL : 0;
    if (!code) code = comm_agree(mine, &bad);
    if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
    comm_world_free(&w);
    free(c);
    comm_finalize();
    return code;
}
