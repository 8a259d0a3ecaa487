fluxrl_test(test_sample SOURCES test_sample.c PARTS core traces LABELS unit)
