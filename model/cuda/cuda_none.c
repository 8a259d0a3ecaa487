// cuda_none.c — model_cuda_query for a build without the CUDA backend (FLUXRL_CUDA=OFF, or no nvcc).
#include <stdio.h>
#include <string.h>

#include "cuda_info.h"

void model_cuda_query(model_cuda_info *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->note, sizeof info->note, "this fluxrl was built without the CUDA backend (FLUXRL_CUDA=OFF or no nvcc)");
}
