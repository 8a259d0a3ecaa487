# The built-in arithmetic task and the answer verifier (docs/tasks.md).
fluxrl_part(tasks SOURCES rollout/verify.c rollout/verify_math.c rollout/verify_expr.c rollout/task_arith.c rollout/dataset.c LINK PkgConfig::CJSON)
target_sources(fluxrl PRIVATE cli/cmd_verify.c cli/cmd_task.c)
