fluxrl_test(test_sample SOURCES test_sample.c PARTS core traces LABELS unit)
fluxrl_test(test_trace SOURCES test_trace.c PARTS core traces LABELS unit)
add_executable(trace_fixture trace_fixture.c)
target_compile_options(trace_fixture PRIVATE ${FLUXRL_WARNINGS})
target_link_libraries(trace_fixture PRIVATE fluxrl_core fluxrl_traces)
add_test(NAME traces_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_traces.sh $<TARGET_FILE:fluxrl>
         $<TARGET_FILE:trace_fixture> ${PROJECT_SOURCE_DIR})
set_tests_properties(traces_cli PROPERTIES LABELS cli TIMEOUT 120)
fluxrl_test(test_msg SOURCES test_msg.c PARTS core traces comm LABELS unit)
