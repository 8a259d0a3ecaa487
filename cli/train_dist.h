// train_dist.h — the ranks of a distributed `fluxrl train` other than the trainer leader:
//   rollout ranks: wait for the leader's work (problems to sample groups for) and weight syncs;
//     send each generated batch to their reward rank (or, with no reward ranks, score it and send
//     it to the leader);
//   reward ranks: score each batch (train_job_score: verifier, checker or PRM, reference
//     log-probs) and send it to the leader;
//   trainers other than the leader: train on their share of each update's groups, gradients
//     all-reduced with the leader's.
// The leader's stop message ends every loop and carries the job's exit code. Messages: comm/msg.h,
// docs/protocol.md.
#ifndef FLUXRL_TRAIN_DIST_H
#define FLUXRL_TRAIN_DIST_H

#include "../comm/comm.h"
#include "train_job.h"

enum { TRAIN_TAG_WORK = 11, TRAIN_TAG_GEN = 12, TRAIN_TAG_SCORED = 13, TRAIN_TAG_TRAIN = 14 };

// The leader's loop (cmd_train.c); w NULL: one process runs every role.
int train_lead(const fx_config *c, const comm_world *w, bool want_resume);
int train_dist_trainer(const fx_config *c, const comm_world *w, bool want_resume);
int train_dist_rollout(const fx_config *c, const comm_world *w);
int train_dist_reward(const fx_config *c, const comm_world *w);

#endif
