// mma.h (emulator) — WMMA lives in tests/gpu/emu/emu.h.
#ifndef FLUXRL_EMU_MMA_H
#define FLUXRL_EMU_MMA_H
#include "../emu.h"
#endif
