# Benchmarks (not tests): each prints the reference a user would pick instead, side by side.
# fluxrl_program(NAME SOURCES ... PARTS ... [OUT dir]): built when its parts are.

# Tokenizer encoding MB/s next to the JS reference, bench/tokenize/run.sh.
fluxrl_program(bench_tokenize SOURCES bench/tokenize/bench_tokenize.c PARTS model)
# The transformer on either backend (--backend cpu|cuda): a training step and greedy decoding, next
# to PyTorch on the CPU (bench/train_step/run.py, bench/generate/run.py) and on a GPU
# (bench/gpu/run.sh); the CPU's sgemm ceiling.
fluxrl_program(bench_model SOURCES bench/model/bench_model.c PARTS model model_cpu model_cuda
  OUT ${PROJECT_BINARY_DIR}/bench)
# Continuous batching (rollout/engine.h) against static batching (rollout_decode); bench/generate/run.py.
fluxrl_program(bench_continuous SOURCES bench/generate/continuous.c PARTS rollout model_cpu)
# Merged decoding (K experts, a PCM) against one expert in the engine, bench/pcm/run.sh.
fluxrl_program(bench_merge_decode SOURCES bench/pcm/merge_decode.c PARTS rollout model_cpu)
# Bucketed weight sync over MPI against one MPI_Bcast, bench/weight_sync/run.sh.
fluxrl_program(bench_weight_sync SOURCES bench/weight_sync/bench_weight_sync.c PARTS comm OUT ${PROJECT_BINARY_DIR}/bench)
# Outcome rewards per second: verifier, plugin, an external program (JSON lines); bench/rewards/run.sh.
fluxrl_program(bench_rewards SOURCES bench/rewards/bench_rewards.c PARTS reward)
# Sharded trainer state (trainer.shard) next to the unsharded run, per rank count; bench/shard/run.sh.
fluxrl_program(bench_shard SOURCES bench/shard/bench_shard.c PARTS comm trainer OUT ${PROJECT_BINARY_DIR}/bench)
