# The CUDA backend's benchmark (bench/gpu/run.sh): a training step and decoding on one GPU.
fluxrl_program(bench_gpu SOURCES bench/gpu/bench_gpu.c PARTS model model_cuda OUT ${PROJECT_BINARY_DIR}/bench)
