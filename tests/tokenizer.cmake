# The tokenizer's tests: ids against Qwen's real tokenizer and every tokenizer.json rule (unit),
# the tokenize / tokenizer train commands (cli).
fluxrl_test(test_tokenizer SOURCES test_tokenizer.c PARTS model LABELS unit)
# The chat-template renderer against python3-jinja2 (tests/reference/jinja/make_golden.py).
fluxrl_test(test_jinja SOURCES test_jinja.c PARTS model LABELS unit)
# Prompts and stop ids of folders laid out like Qwen2.5-Instruct, R1-Distill-Qwen and Qwen3
# (tests/reference/jinja/make_prompts.py), decoding stopping on each.
fluxrl_test(test_prompt SOURCES test_prompt.c PARTS reward model_cpu LABELS unit)
# Its fuzz target: under libFuzzer with FLUXRL_FUZZ=ON, else replayed over the real templates.
file(GLOB FLUXRL_JINJA_CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/data/jinja/templates/*.jinja)
if(FLUXRL_FUZZ)
  fluxrl_program(fuzz_jinja SOURCES fuzz/fuzz_jinja.c PARTS model)
  target_link_options(fuzz_jinja PRIVATE -fsanitize=fuzzer)
else()
  fluxrl_test(fuzz_jinja_corpus SOURCES fuzz/fuzz_jinja.c fuzz/fuzz_replay.c PARTS model LABELS unit
              ARGS ${FLUXRL_JINJA_CORPUS})
endif()
if(TARGET fluxrl)
  add_test(NAME cli_tokenize COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_tokenize.sh $<TARGET_FILE:fluxrl> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli_tokenize PROPERTIES LABELS cli TIMEOUT 300 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endif()
