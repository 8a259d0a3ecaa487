# Fuzz targets (tests/fuzz/): each a libFuzzer entry point over one kind of input users or ranks
# hand fluxrl. With FLUXRL_FUZZ=ON (clang) each is a libFuzzer program, which launch/test.sh runs
# for a fixed number of inputs; in every other build (the sanitizer build included) its seed
# corpus in tests/data/fuzz/NAME/ is replayed as a unit test.
# fluxrl_fuzz(NAME PART): tests/fuzz/fuzz_NAME.c on the part it needs.
function(fluxrl_fuzz name part)
  file(GLOB corpus ${CMAKE_CURRENT_SOURCE_DIR}/data/fuzz/${name}/*)
  if(FLUXRL_FUZZ)
    fluxrl_program(fuzz_${name} SOURCES fuzz/fuzz_${name}.c PARTS ${part})
    if(TARGET fuzz_${name})
      target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    endif()
  else()
    fluxrl_test(fuzz_${name}_corpus SOURCES fuzz/fuzz_${name}.c fuzz/fuzz_replay.c PARTS ${part} LABELS unit
                ARGS ${corpus})
  endif()
endfunction()

fluxrl_fuzz(config core)
fluxrl_fuzz(tokenizer model)
fluxrl_fuzz(verify rollout)
fluxrl_fuzz(jsonl rollout)
fluxrl_fuzz(msg comm)
