// cmd_help.c — `fluxrl help` and `fluxrl version`.
#include <cblas.h>
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../comm/comm.h"
#include "../model/cuda/cuda_info.h"
#include "cli.h"

int cmd_help(int argc, char **argv) {
    if (argc > 0) { // `fluxrl help config check`: that command's usage
        for (int i = 0; i < cli_ncommands; i++) {
            char joined[128] = "";
            for (int j = 0; j < argc; j++) {
                size_t n = strlen(joined);
                snprintf(joined + n, sizeof joined - n, "%s%s", j ? " " : "", argv[j]);
            }
            if (strcmp(joined, cli_commands[i].name) == 0) {
                fputs(cli_commands[i].usage, stdout);
                return FX_EXIT_OK;
            }
        }
        fprintf(stderr, "fluxrl help: no command '%s'; run 'fluxrl help' for the list\n", argv[0]);
        return FX_EXIT_INPUT;
    }
    printf("fluxrl %s — distributed RL training of LLMs on reasoning tasks\n\n"
           "usage: fluxrl COMMAND [ARGS...]      (fluxrl COMMAND --help for its usage)\n\n"
           "commands:\n",
           FLUXRL_VERSION);
    for (int i = 0; i < cli_ncommands; i++) printf("  %-14s %s\n", cli_commands[i].name, cli_commands[i].summary);
    printf("\nExit codes: 0 success, 1 failure at run time, 2 bad input (arguments, config, files),\n"
           "3 stopped by SIGTERM/SIGINT after writing a checkpoint (resume with --resume auto).\n"
           "Configs: docs/config.md, or `fluxrl config doc`.\n");
    return FX_EXIT_OK;
}

int cmd_version(int argc, char **argv) {
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "fluxrl version: takes no arguments\n");
        return FX_EXIT_INPUT;
    }
    printf("fluxrl %s\n", FLUXRL_VERSION);
    char mpi[256];
    comm_mpi_version(mpi, sizeof mpi);
    printf("  MPI       %s\n", mpi);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    printf("  HDF5      %u.%u.%u\n", maj, min, rel);
    printf("  cJSON     %s\n", cJSON_Version());
    printf("  OpenBLAS  %s\n", openblas_get_config());
    char pcre[64] = "";
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    printf("  PCRE2     %s\n", pcre);
    printf("  utf8proc  %s\n", utf8proc_version());
    model_cuda_info cu;
    model_cuda_query(&cu);
    if (!cu.built) {
        printf("  CUDA      not built: %s\n", cu.note);
        return FX_EXIT_OK;
    }
    char driver[32] = "none";
    if (cu.driver_version > 0) snprintf(driver, sizeof driver, "%d.%d", cu.driver_version / 1000, cu.driver_version % 1000 / 10);
    printf("  CUDA      runtime %d.%d, built for sm_%s, driver %s\n", cu.runtime_version / 1000,
           cu.runtime_version % 1000 / 10, cu.arch, driver);
    printf("  NCCL      %d.%d.%d\n", cu.nccl_version / 10000, cu.nccl_version / 100 % 100, cu.nccl_version % 100);
    printf("  cuBLASLt  %zu\n", cu.cublaslt_version);
    if (cu.devices > 0) printf("  devices   %d; device 0: %s\n", cu.devices, cu.device0);
    else printf("  devices   none (%s)\n", cu.note);
    return FX_EXIT_OK;
}
