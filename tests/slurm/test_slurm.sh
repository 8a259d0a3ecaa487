#!/usr/bin/env bash
# test_slurm.sh FLUXRL SRC — launch/slurm/fluxrl.sbatch under a real Slurm (Debian's slurm-wlm and
# munge, from launch/deps.sh): a one-node, 2-CPU cluster on localhost with every file in a temporary
# directory. Three copies of the same small SFT run: one uninterrupted; one requeued mid-run by
# `scontrol requeue`; one sent SIGTERM in its batch shell (what --signal=B:TERM@120 does ahead of the
# time limit), after which the script requeues the job itself. Each resumed run must log every step
# exactly once, with the uninterrupted run's losses, and end with a complete model. Then `fluxrl
# ranks` runs 3 MPI ranks through srun --mpi=pmix and through mpirun inside an allocation.
# Needs root (the daemons run as root, like CI). Stops every daemon it started, by PID, on any exit.
set -u
fx=$1 src=$2
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"
sbatch_script=$src/launch/slurm/fluxrl.sbatch

for c in munged slurmctld slurmd sbatch scontrol squeue sinfo scancel; do
    command -v "$c" >/dev/null || { echo "FAIL $c not found: run launch/deps.sh (slurm-wlm, munge)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "FAIL test_slurm runs the Slurm daemons as root; run it as root" >&2; exit 1; }

tmp=$(mktemp -d /tmp/fluxrl-slurm.XXXXXX)
chmod 755 "$tmp" # munged wants every directory above its socket searchable
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/submit" "$tmp/runs"
chmod 755 "$tmp/munge"
pids=()
cleanup() {
    if [ -n "${SLURM_CONF:-}" ] && [ -n "${slurmctld_pid:-}" ]; then
        # Jobs first, so that no slurmstepd or fluxrl outlives the daemons.
        for j in $(squeue -h -o %i 2>/dev/null); do scancel "$j" 2>/dev/null; done
        for _ in $(seq 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$failed" -ne 0 ] || [ -n "${FLUXRL_TEST_KEEP:-}" ]; then
        echo "test_slurm: logs kept in $tmp" >&2
        for f in "$tmp"/log/slurmctld.log "$tmp"/log/slurmd.log; do
            echo "--- tail of $f" >&2; tail -n 15 "$f" >&2
        done
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A TCP port on localhost that nothing listens on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        [ "$p" -ne "${1:-0}" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }
    done
}

# munged with its own key and socket.
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$tmp/munge/munge.key"
munged -F --socket="$tmp/munge/socket" --key-file="$tmp/munge/munge.key" --pid-file="$tmp/munge/munged.pid" \
    --seed-file="$tmp/munge/seed" --log-file="$tmp/log/munged.log" --origin=127.0.0.1 >"$tmp/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/munge/socket" ] && break; sleep 0.1; done
expect_run 0 "munged is up" -- test -S "$tmp/munge/socket"

host=$(hostname -s)
ctld_port=$(free_port)
slurmd_port=$(free_port "$ctld_port")
# Everything on 127.0.0.1; no cgroups (proctrack/linuxproc, task/none, no accounting gatherer).
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
cat >"$tmp/slurm.conf" <<EOF
ClusterName=fluxrltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/socket,cred_expire=10
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/slurmd
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
MpiDefault=none
ReturnToService=2
KillWait=30
MinJobAge=600
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$tmp/slurm.conf # every client below (and inside the jobs) reads this cluster only
slurmctld -D -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
slurmctld_pid=$!
pids+=("$slurmctld_pid")
slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break; sleep 0.2; done
expect_run 0 "the node is idle" -- test "$(sinfo -h -o %t 2>/dev/null)" = idle
[ "$failed" -eq 0 ] || { finish test_slurm; exit 1; }

# job_field ID FIELD: one field of `scontrol show job` (JobState, Restarts, ExitCode).
job_field() { scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# wait_done ID SECONDS: until the job has ended (and is not on its way back to the queue).
wait_done() {
    local s
    for _ in $(seq $(($2 * 5))); do
        s=$(job_field "$1" JobState)
        case $s in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) return 0 ;;
        esac
        sleep 0.2
    done
    return 1
}
# steps RUN_DIR KEY: the steps of the metrics lines that have KEY, one a line.
steps() { grep "\"$2\"" "$1/metrics.jsonl" | sed 's/.*"step": *\([0-9]*\).*/\1/'; }
losses() { grep '"loss"' "$1/metrics.jsonl" | sed 's/.*\("step": *[0-9]*\).*\("loss": *[-0-9.e]*\).*/\1 \2/'; }

# ~6,000 steps of a 19k-parameter model: about 12 s on one core, long enough to interrupt.
steps_n=6000 every=100 ckpt=500
small=(--set model.hidden_size=32 --set model.layers=1 --set model.heads=2 --set model.kv_heads=1
       --set model.intermediate_size=64 --set model.max_seq=96 --set task.ops=1 --set task.digits=1
       --set sft.batch=8 --set "sft.steps=$steps_n" --set sft.warmup=5 --set "sft.log_every=$every"
       --set sft.eval_every=0 --set sft.eval_problems=8 --set "sft.checkpoint_every=$ckpt")
# submit SBATCH_ARGS...: sbatch from $tmp/submit (the logs land there), with $launcher and $extra_env.
submit() {
    (cd "$tmp/submit" && env FLUXRL_BIN="$fx" FLUXRL_OUT_DIR="$tmp/runs" FLUXRL_LAUNCHER="$launcher" "${extra_env[@]}" \
        sbatch --parsable "$@")
}
launcher=srun extra_env=()
expect_run 0 "sbatch (uninterrupted)" -- submit "$sbatch_script" sft "$src/configs/demo.json" "${small[@]}"
a=$out
expect_run 0 "sbatch (to be requeued by scontrol)" -- submit "$sbatch_script" sft "$src/configs/demo.json" "${small[@]}"
b=$out
expect_run 0 "sbatch (to be sent SIGTERM)" -- submit "$sbatch_script" sft "$src/configs/demo.json" "${small[@]}"
c=$out

# interrupt ID HOW...: once the job runs and has a checkpoint, HOW; it must not have ended yet.
interrupt() {
    local id=$1 dir=$tmp/runs/demo-$1
    shift
    for _ in $(seq 600); do
        compgen -G "$dir/checkpoints/step-*.h5" >/dev/null && break
        sleep 0.1
    done
    expect_run 0 "job $id has a checkpoint" -- compgen -G "$dir/checkpoints/step-*.h5"
    expect_run 0 "job $id still runs" -- test "$(job_field "$id" JobState)" = RUNNING
    expect_run 0 "job $id: $*" -- "$@"
}
# Job c starts when b's requeue frees a CPU.
interrupt "$b" scontrol requeue "$b"
interrupt "$c" scancel --signal=TERM --batch "$c"
expect_run 0 "job $a ends" -- wait_done "$a" 90
expect_run 0 "job $b ends" -- wait_done "$b" 90
expect_run 0 "job $c ends" -- wait_done "$c" 90

want_steps=$(seq "$every" "$every" "$steps_n")
for id in "$a" "$b" "$c"; do
    dir=$tmp/runs/demo-$id log=$tmp/submit/fluxrl-$id.out
    expect_run 0 "job $id completed" -- test "$(job_field "$id" JobState)" = COMPLETED
    expect_run 0 "job $id exit code 0:0" -- test "$(job_field "$id" ExitCode)" = 0:0
    expect_run 0 "job $id: every step logged once" -- test "$(steps "$dir" loss | sort -n)" = "$want_steps"
    expect_run 0 "job $id: the model folder is complete" -- test -f "$dir/model/config.json" \
        -a -f "$dir/model/model.safetensors" -a -f "$dir/model/tokenizer.json"
    expect_run 0 "job $id: one final evaluation" -- test "$(steps "$dir" eval_answer_acc)" = "$steps_n"
    expect_run 0 "job $id: its log" -- cat "$log"
    expect_contains "$out" "fluxrl.sbatch: job $id (restart 0) on $host: 1 rank(s) x 1 thread(s), direct:" "job $id: started"
    expect_contains "$out" "--resume auto" "job $id: started with --resume auto"
done
expect_run 0 "checkpoints of the uninterrupted run" -- compgen -G "$tmp/runs/demo-$a/checkpoints/step-*.h5"
expect_run 0 "job $a was not restarted" -- test "$(job_field "$a" Restarts)" = 0
for id in "$b" "$c"; do
    log=$tmp/submit/fluxrl-$id.out
    expect_run 0 "job $id restarted once" -- test "$(job_field "$id" Restarts)" = 1
    expect_run 0 "job $id: its log" -- cat "$log"
    expect_contains "$out" "SIGTERM: asking fluxrl to checkpoint and stop" "job $id: SIGTERM forwarded"
    expect_contains "$out" "fluxrl stopped with a checkpoint (exit 3)" "job $id: exit 3"
    expect_contains "$out" "fluxrl.sbatch: job $id (restart 1)" "job $id: started again"
    expect_contains "$out" "resuming from $tmp/runs/demo-$id/checkpoints/step-" "job $id: resumed from its checkpoint"
    expect_run 0 "job $id: the same losses as the uninterrupted run" -- \
        test "$(losses "$tmp/runs/demo-$id")" = "$(losses "$tmp/runs/demo-$a")"
done
expect_contains "$(cat "$tmp/submit/fluxrl-$c.out")" "requeueing job $c to resume" "job $c requeued itself"

# Distributed subcommands: 3 ranks (demo.json's trainer, rollout, reward) on 2 CPUs (--overcommit).
for launcher in srun mpirun; do
    expect_run 0 "sbatch ranks ($launcher)" -- submit -n 3 --overcommit "$sbatch_script" ranks "$src/configs/demo.json"
    id=$out
    expect_run 0 "ranks job $id ends" -- wait_done "$id" 60
    expect_run 0 "ranks job $id completed" -- test "$(job_field "$id" JobState)" = COMPLETED
    log=$(cat "$tmp/submit/fluxrl-$id.out")
    expect_contains "$log" "3 rank(s) x 1 thread(s), $launcher:" "$launcher: 3 ranks"
    expect_contains "$log" "3 ranks: 1 trainer, 1 rollout, 1 reward" "$launcher: roles"
    expect_contains "$log" "collectives: ok" "$launcher: collectives"
    expect_not_contains "$log" "--resume" "$launcher: ranks is not resumed"
done

# The stop and requeue of a distributed, resumable job through each launcher, with a stand-in for
# its ranks (tests/slurm/fake_rank.sh; they take 2 s to "checkpoint" after SIGTERM, then exit 3).
# SIGTERM to the batch shell (the time-limit warning) must reach both ranks: under srun the script
# signals the tasks (srun itself would end them), under mpirun it sends mpirun SIGUSR1, which the
# rank wrapper turns into SIGTERM (mpirun would kill them). Then the job requeues itself and both
# ranks start again with --resume auto. Under srun, `scontrol requeue` (Slurm signalling every
# process, srun included) must also leave the ranks their 2 s. 1 CPU per job (--overcommit).
declare -A fake_job
for kind in srun mpirun srun-requeue; do
    launcher=${kind%-requeue}
    mkdir -p "$tmp/fake-$kind"
    extra_env=(FLUXRL_BIN="$src/tests/slurm/fake_rank.sh" FLUXRL_REAL="$fx" FAKE_DIR="$tmp/fake-$kind" FAKE_STOP_S=2
               FLUXRL_DISTRIBUTED=fake)
    expect_run 0 "sbatch 2 stand-in ranks ($kind)" -- submit -n 2 --overcommit "$sbatch_script" fake \
        "$src/configs/demo.json" --set cluster.reward_ranks=0
    fake_job[$kind]=$out
done
for kind in srun mpirun srun-requeue; do
    id=${fake_job[$kind]} d=$tmp/fake-$kind
    for _ in $(seq 600); do [ -e "$d/ready.0" ] && [ -e "$d/ready.1" ] && break; sleep 0.1; done
    expect_run 0 "$kind: both ranks up" -- test -e "$d/ready.0" -a -e "$d/ready.1"
    if [ "$kind" = srun-requeue ]; then
        expect_run 0 "$kind: scontrol requeue" -- scontrol requeue "$id"
    else
        expect_run 0 "$kind: SIGTERM to the batch shell" -- scancel --signal=TERM --batch "$id"
    fi
done
for kind in srun mpirun srun-requeue; do
    id=${fake_job[$kind]} d=$tmp/fake-$kind
    expect_run 0 "$kind job $id ends" -- wait_done "$id" 90
    expect_run 0 "$kind job $id completed" -- test "$(job_field "$id" JobState)" = COMPLETED
    expect_run 0 "$kind job $id restarted once" -- test "$(job_field "$id" Restarts)" = 1
    expect_run 0 "$kind: both ranks stopped cleanly" -- test -e "$d/stopped.0" -a -e "$d/stopped.1"
    expect_run 0 "$kind: both ranks started again" -- test -e "$d/args.1.0" -a -e "$d/args.1.1"
    expect_contains "$(cat "$d/args.1.1")" "--resume auto" "$kind: resumed with --resume auto"
    expect_contains "$(cat "$tmp/submit/fluxrl-$id.out")" "fluxrl stopped with a checkpoint (exit 3)" "$kind: exit 3"
done
expect_contains "$(cat "$tmp/submit/fluxrl-${fake_job[srun]}.out")" "requeueing job ${fake_job[srun]} to resume" \
    "srun: requeued itself"

launcher=srun extra_env=()
expect_run 0 "a rank count that does not match the config" -- \
    submit -n 2 "$sbatch_script" ranks "$src/configs/demo.json"
id=$out
expect_run 0 "mismatch job ends" -- wait_done "$id" 60
expect_run 0 "mismatch job failed" -- test "$(job_field "$id" JobState)" = FAILED
expect_contains "$(cat "$tmp/submit/fluxrl-$id.out")" "submit with --ntasks=3" "mismatch named"
finish test_slurm
