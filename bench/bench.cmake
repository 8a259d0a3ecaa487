# Benchmarks (not tests): each prints the reference a user would pick instead, side by side.
add_executable(bench_weight_sync bench/weight_sync/bench_weight_sync.c)
target_compile_options(bench_weight_sync PRIVATE ${FLUXRL_WARNINGS})
target_link_libraries(bench_weight_sync PRIVATE fluxrl_core fluxrl_traces fluxrl_comm)
set_target_properties(bench_weight_sync PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
# Continuous batching (rollout/engine.h) against static batching (rollout_decode); bench/generate/run.py.
add_executable(bench_continuous bench/generate/continuous.c)
target_compile_options(bench_continuous PRIVATE ${FLUXRL_WARNINGS})
target_link_libraries(bench_continuous PRIVATE fluxrl_lib)
