// emu_names.h — the emulated backend's entry points get names of their own, so that the emulator
// test links beside the real CUDA backend (or its stub) in libfluxrl's core part.
#define backend_cuda_create emu_backend_cuda_create
#define backend_cuda_sync emu_backend_cuda_sync
#define backend_cuda_stream emu_backend_cuda_stream
#define backend_cuda_device_count emu_backend_cuda_device_count
