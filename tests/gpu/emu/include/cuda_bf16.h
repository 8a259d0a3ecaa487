// cuda_bf16.h (emulator) — the bf16 type and its round-to-nearest-even conversions.
#ifndef FLUXRL_EMU_CUDA_BF16_H
#define FLUXRL_EMU_CUDA_BF16_H
#include <stdint.h>
#include <string.h>
typedef struct {
    unsigned short x;
} __nv_bfloat16;
static inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u); // NaN is not expected here
    __nv_bfloat16 b = {(unsigned short)(u >> 16)};
    return b;
}
static inline float __bfloat162float(__nv_bfloat16 b) {
    uint32_t u = (uint32_t)b.x << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
#endif
