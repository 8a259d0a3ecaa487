// cuda_none.c — the CUDA entry points for a build without the CUDA backend (FLUXRL_CUDA=OFF, or
// no nvcc): model_cuda_query says so, backend_cuda_create returns NULL with an error.
#include <stdio.h>
#include <string.h>

#include "cuda_backend.h"
#include "cuda_info.h"

#define NO_CUDA "this fluxrl was built without the CUDA backend (FLUXRL_CUDA=OFF or no nvcc)"

void model_cuda_query(model_cuda_info *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->note, sizeof info->note, "%s", NO_CUDA);
}

backend *backend_cuda_create(int device, backend_cuda_precision prec, fx_err *err) {
    fx_errf(err, "cuda: %s", NO_CUDA);
    return NULL;
}

void backend_cuda_sync(const backend *be) { FX_ASSERT(!"backend_cuda_sync without the CUDA backend"); }

void *backend_cuda_stream(const backend *be) { return NULL; }

int backend_cuda_device_count(void) { return 0; }
