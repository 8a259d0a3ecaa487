fluxrl_test(test_sample SOURCES test_sample.c PARTS rollout LABELS unit)
fluxrl_test(test_trace SOURCES test_trace.c PARTS rollout LABELS unit)
fluxrl_test(test_mutate SOURCES test_mutate.c PARTS rollout trainer LABELS unit TIMEOUT 300)
fluxrl_program(trace_fixture SOURCES trace_fixture.c PARTS rollout)
if(TARGET fluxrl)
  add_test(NAME traces_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_traces.sh $<TARGET_FILE:fluxrl>
           $<TARGET_FILE:trace_fixture> ${PROJECT_SOURCE_DIR})
  set_tests_properties(traces_cli PROPERTIES LABELS cli TIMEOUT 120)
endif()
fluxrl_test(test_msg SOURCES test_msg.c PARTS comm LABELS unit)
fluxrl_test(test_steps SOURCES test_steps.c PARTS rollout LABELS unit)
if(TARGET fluxrl AND TARGET make_tiny_models)
  add_test(NAME bad_input COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_bad_input.sh $<TARGET_FILE:fluxrl> ${PROJECT_SOURCE_DIR}
           $<TARGET_FILE:trace_fixture> $<TARGET_FILE:make_tiny_models> $<TARGET_FILE:bad_plugin_noscore>
           $<TARGET_FILE:bad_plugin_abi>)
  set_tests_properties(bad_input PROPERTIES LABELS cli TIMEOUT 300)
endif()
