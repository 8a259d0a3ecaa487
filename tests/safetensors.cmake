fluxrl_test(test_safetensors SOURCES test_safetensors.c PARTS model LABELS unit)

# The header parser's fuzz target: under libFuzzer with FLUXRL_FUZZ=ON, else replayed over the
# seed corpus in every build.
file(GLOB FLUXRL_ST_CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/data/fuzz/safetensors/*)
if(FLUXRL_FUZZ)
  fluxrl_program(fuzz_safetensors SOURCES fuzz/fuzz_safetensors.c PARTS model)
  target_link_options(fuzz_safetensors PRIVATE -fsanitize=fuzzer)
else()
  fluxrl_test(fuzz_safetensors_corpus SOURCES fuzz/fuzz_safetensors.c fuzz/fuzz_replay.c
              PARTS model LABELS unit ARGS ${FLUXRL_ST_CORPUS})
endif()
