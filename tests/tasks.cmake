# The built-in arithmetic task and the answer verifier (docs/tasks.md).
fluxrl_test(test_verify SOURCES test_verify.c PARTS rollout LABELS unit)
fluxrl_test(test_task SOURCES test_task.c PARTS rollout LABELS unit)
if(TARGET fluxrl)
  add_test(NAME cli_verify COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_verify.sh $<TARGET_FILE:fluxrl> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli_verify PROPERTIES LABELS cli TIMEOUT 120 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  # fluxrl's verifier against SymPy and the Compute Engine on the first 300 pairs of the corpus
  # (tests/reference/verify; launch/deps.sh installs both judges): fails below 99% agreement.
  add_test(NAME verify_agreement COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/reference/verify/agree.py
    $<TARGET_FILE:fluxrl> --check-corpus --first 300 --expect-pairs 300 --min-decided 280 --min-agreement 0.99)
  set_tests_properties(verify_agreement PROPERTIES LABELS cli TIMEOUT 120)
endif()
