// cuda_info.h — what the CUDA side of this build can see: toolkit, driver, devices, NCCL, cuBLASLt.
// Callable from C in every build; a build without the CUDA backend reports built = false.
#ifndef FLUXRL_CUDA_INFO_H
#define FLUXRL_CUDA_INFO_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    bool built;           // the CUDA backend was compiled into this binary
    int runtime_version;  // CUDART_VERSION style, e.g. 13000
    int driver_version;   // 0 when no driver is installed
    int devices;          // visible devices (0 when none or no driver)
    int nccl_version;     // e.g. 22703
    size_t cublaslt_version;
    char arch[64];        // the architectures compiled for, e.g. "90"
    char device0[320];    // name and compute capability of device 0
    char note[256];       // why there are no devices, when there are none
} model_cuda_info;

void model_cuda_query(model_cuda_info *info);

#ifdef __cplusplus
}
#endif

#endif
