# The built-in arithmetic task and the answer verifier (docs/tasks.md).
fluxrl_test(test_verify SOURCES test_verify.c PARTS rollout LABELS unit)
fluxrl_test(test_task SOURCES test_task.c PARTS rollout LABELS unit)
if(TARGET fluxrl)
  add_test(NAME cli_verify COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_verify.sh $<TARGET_FILE:fluxrl> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli_verify PROPERTIES LABELS cli TIMEOUT 120 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endif()
