# transformer.cmake — the transformer core: backend interface, CPU backend, model, heads, AdamW;
# the `fluxrl model info` and `fluxrl logprobs` commands; the train-step benchmark.
fluxrl_part(model
  SOURCES model/model.c model/model_heads.c model/model_optim.c model/model_io.c
          model/cpu/cpu_backend.c model/cpu/cpu_blas.c model/cpu/cpu_layers.c model/cpu/cpu_attention.c
  LINK PkgConfig::OPENBLAS OpenMP::OpenMP_C m)
target_sources(fluxrl PRIVATE cli/cmd_model.c cli/cmd_logprobs.c)

# Benchmark (not a test): one training step next to PyTorch and sgemm, bench/train_step/run.py.
add_executable(bench_train_step bench/train_step/train_step.c)
target_compile_options(bench_train_step PRIVATE ${FLUXRL_WARNINGS})
target_link_libraries(bench_train_step PRIVATE fluxrl_core fluxrl_safetensors fluxrl_model)

# Benchmark (not a test): decode tokens/s next to a PyTorch decode loop, bench/generate/run.py.
add_executable(bench_generate bench/generate/generate.c)
target_compile_options(bench_generate PRIVATE ${FLUXRL_WARNINGS})
target_link_libraries(bench_generate PRIVATE fluxrl_core fluxrl_safetensors fluxrl_model)
