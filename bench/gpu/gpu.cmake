# gpu.cmake — the GPU benchmarks (bench/gpu/run.sh runs them on a device machine), where the
# build has the CUDA backend and the model part.
if(FLUXRL_HAVE_CUDA AND TARGET fluxrl_model)
  add_executable(bench_gpu bench/gpu/bench_gpu.c)
  target_compile_options(bench_gpu PRIVATE ${FLUXRL_WARNINGS})
  target_link_libraries(bench_gpu PRIVATE fluxrl_core fluxrl_safetensors fluxrl_model)
  set_target_properties(bench_gpu PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endif()
