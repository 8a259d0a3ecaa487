# Reward sources (docs/rewards.md): external programs and plugins. The example plugin that
# reproduces the built-in verifier (examples/rewards/verifier_plugin.c, from fluxrl's verifier
# sources), plugins fluxrl must refuse (tests/rewards/bad_plugin.c), and their tests.
fluxrl_test(test_reward_cmd SOURCES test_reward_cmd.c PARTS reward LABELS unit TIMEOUT 120)
fluxrl_test(test_reasonflux SOURCES test_reasonflux.c PARTS pipeline LABELS unit TIMEOUT 120)

add_library(verifier_plugin MODULE ${PROJECT_SOURCE_DIR}/examples/rewards/verifier_plugin.c
            ${PROJECT_SOURCE_DIR}/examples/rewards/plugin_fx.c ${PROJECT_SOURCE_DIR}/rollout/verify.c
            ${PROJECT_SOURCE_DIR}/rollout/verify_math.c ${PROJECT_SOURCE_DIR}/rollout/verify_expr.c)
foreach(name bad_plugin_noscore bad_plugin_abi bad_plugin_fail)
  add_library(${name} MODULE ${CMAKE_CURRENT_SOURCE_DIR}/rewards/bad_plugin.c)
endforeach()
target_compile_definitions(bad_plugin_noscore PRIVATE NO_SCORE)
target_compile_definitions(bad_plugin_abi PRIVATE ABI=99)
target_compile_definitions(bad_plugin_fail PRIVATE FAIL_AT=20)
foreach(name verifier_plugin bad_plugin_noscore bad_plugin_abi bad_plugin_fail)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${FLUXRL_WARNINGS})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
endforeach()
set_target_properties(bad_plugin_noscore bad_plugin_abi bad_plugin_fail PROPERTIES C_VISIBILITY_PRESET default)

# `fluxrl train` with each reward source: the plugin equals the verifier bit for bit; the Python
# SymPy server, the code-execution server and the shell example run; a reward program that dies,
# hangs or writes garbage ends the run with exit 1 after one retry.
if(TARGET fluxrl)
  add_test(NAME rewards_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_rewards.sh $<TARGET_FILE:fluxrl>
           ${PROJECT_SOURCE_DIR} $<TARGET_FILE:verifier_plugin> $<TARGET_FILE:bad_plugin_fail>)
  set_tests_properties(rewards_cli PROPERTIES LABELS cli TIMEOUT 300)
endif()
