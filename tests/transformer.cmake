# transformer.cmake — tests of the transformer core (model/). Golden data: tests/data/model/, made
# by tests/reference/model/make_golden.py.
fluxrl_test(test_model SOURCES test_model.c PARTS model model_cpu LABELS unit)
# Sharded parameters (trainer.shard = full) against the whole model, the gathers played in-process.
fluxrl_test(test_shard_params SOURCES test_shard_params.c PARTS model model_cpu LABELS unit)
fluxrl_test(test_model_golden SOURCES test_model_golden.c PARTS model model_cpu LABELS unit)
fluxrl_test(test_pcm SOURCES test_pcm.c PARTS model model_cpu LABELS unit) # data: tests/reference/pcm/make_golden.py
if(TARGET fluxrl)
  add_test(NAME model_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_model_cli.sh $<TARGET_FILE:fluxrl>
           ${PROJECT_SOURCE_DIR})
  set_tests_properties(model_cli PROPERTIES LABELS cli TIMEOUT 300 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endif()
