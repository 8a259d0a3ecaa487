// cuda_runtime.h (emulator) — the part of the CUDA runtime API the backend uses, on host memory.
// See tests/gpu/emu/emu.h.
#ifndef FLUXRL_EMU_CUDA_RUNTIME_H
#define FLUXRL_EMU_CUDA_RUNTIME_H
#include "../emu.h"
#endif
