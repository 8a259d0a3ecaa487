// backend.c — the backend a command or a rank runs on, from its name (pipeline.h).
#include <string.h>

#include "../model/cuda/cuda_backend.h"
#include "pipeline.h"

backend *pipeline_backend_open(const char *setting, const char *kind, const char *precision, int local_rank,
                               int threads, const char *who, fx_err *err) {
    if (strcmp(kind, "cuda") != 0) return backend_cpu_create(threads);
    int devices = backend_cuda_device_count();
    if (devices == 0) {
        fx_errf(err, "%s: \"cuda\", but %s sees no CUDA device (or this build has no CUDA backend)", setting, who);
        return NULL;
    }
    backend_cuda_precision p = !strcmp(precision, "fp32") ? BACKEND_CUDA_FP32 : BACKEND_CUDA_BF16;
    return backend_cuda_create(local_rank % devices, p, err);
}
