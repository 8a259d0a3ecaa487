// test_cuda_none.c — a build without the CUDA backend: backend_cuda_create and comm_nccl_create
// exist, return NULL and say why; no device is reported. (The stubs never call MPI, so neither
// does this test: it runs under the sanitizers too.)
#include "../../comm/nccl.h"
#include "../../model/cuda/cuda_backend.h"
#include "../test.h"

int main(void) {
    fx_err err = {{0}};
    CHECK(backend_cuda_create(0, BACKEND_CUDA_BF16, &err) == NULL);
    CHECK(strstr(err.msg, "built without the CUDA backend") != NULL);
    CHECK_INT(backend_cuda_device_count(), 0);
    fx_err err2 = {{0}};
    CHECK(comm_nccl_create(MPI_COMM_NULL, &err2) == NULL);
    CHECK(strstr(err2.msg, "nccl:") != NULL);
    return test_summary("test_cuda_none");
}
