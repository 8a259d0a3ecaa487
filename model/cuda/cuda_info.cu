// cuda_info.cu — see cuda_info.h. Links the CUDA runtime, NCCL and cuBLASLt, and asks each
// for its version, so a broken installation shows up in `fluxrl --version`, not mid-job.
#include "cuda_info.h"

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <string.h>

#ifndef FLUXRL_CUDA_ARCHS
#define FLUXRL_CUDA_ARCHS "unknown"
#endif

extern "C" void model_cuda_query(model_cuda_info *info) {
    memset(info, 0, sizeof *info);
    info->built = true;
    snprintf(info->arch, sizeof info->arch, "%s", FLUXRL_CUDA_ARCHS);
    cudaRuntimeGetVersion(&info->runtime_version);
    if (cudaDriverGetVersion(&info->driver_version) != cudaSuccess) info->driver_version = 0;
    ncclGetVersion(&info->nccl_version);
    info->cublaslt_version = cublasLtGetVersion();
    cudaError_t e = cudaGetDeviceCount(&info->devices);
    if (e != cudaSuccess) {
        info->devices = 0;
        snprintf(info->note, sizeof info->note, "%s", cudaGetErrorString(e));
        cudaGetLastError(); // clear the sticky error for later calls
        return;
    }
    if (info->devices > 0) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, 0) == cudaSuccess)
            snprintf(info->device0, sizeof info->device0, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                     (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    }
}
