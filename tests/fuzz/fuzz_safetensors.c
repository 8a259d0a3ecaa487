// fuzz_safetensors.c — libFuzzer target for the safetensors header parser: any bytes given as a
// whole file must give either tensors that lie inside the data or an error, never a crash.
// Built with -DFLUXRL_FUZZ=ON under clang (launch/test.sh runs it); without libFuzzer the same
// entry point is driven over the seed corpus by fuzz_replay.c.
#include <stdint.h>
#include <stdlib.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_tensor *ts;
    int n;
    fx_err err;
    if (st_parse_buffer(data, size, "fuzz", &ts, &n, &err) == 0) {
        for (int i = 0; i < n; i++) {
            const uint8_t *p = ts[i].data;
            // Every tensor lies inside the buffer: touching its first and last byte is safe.
            if (ts[i].nbytes > 0 && (p < data || p + ts[i].nbytes > data + size)) abort();
            if (ts[i].nbytes > 0) {
                volatile uint8_t edge = (uint8_t)(p[0] ^ p[ts[i].nbytes - 1]); // AddressSanitizer checks both reads
                (void)edge;
            }
        }
        st_tensors_free(ts, n);
    }
    return 0;
}
