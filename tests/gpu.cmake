# gpu.cmake — tests of the CUDA backend and NCCL (tests/gpu/), label gpu: they need a CUDA device,
# and launch/test.sh leaves the label out on machines without one (reported as not run). Built
# only when the CUDA backend is (FLUXRL_HAVE_CUDA).
if(FLUXRL_HAVE_CUDA)
  fluxrl_test(test_cuda_ops SOURCES gpu/test_cuda_ops.c PARTS model model_cpu model_cuda LABELS gpu TIMEOUT 600)
  fluxrl_test(test_nccl SOURCES gpu/test_nccl.c PARTS comm model_cuda LABELS gpu TIMEOUT 300)
  if(TARGET test_nccl)
    # Across ranks, where this machine has more than one device: one rank per device; with one
    # device ctest reports it skipped (exit 77), never passed.
    add_test(NAME test_nccl_ranks COMMAND sh -c "n=$(nvidia-smi -L 2>/dev/null | wc -l); [ \"$n\" -ge 2 ] || { echo 'one device: skipped (test_nccl covers a world of 1)'; exit 77; }; exec mpirun --allow-run-as-root --oversubscribe -np \"$n\" \"$1\"" _ $<TARGET_FILE:test_nccl>)
    set_tests_properties(test_nccl_ranks PROPERTIES LABELS gpu TIMEOUT 300 SKIP_RETURN_CODE 77)
  endif()
else()
  # Without CUDA: the entry points exist and refuse with a message.
  fluxrl_test(test_cuda_none SOURCES gpu/test_cuda_none.c PARTS comm model_cuda LABELS unit)
endif()

# The same test on the CPU, through an emulator of the kernels (tests/gpu/emu/emu.h): the CUDA
# sources' index arithmetic, masks, reductions and barriers run in every build, GPU or not (label
# unit). cuBLASLt is replaced by plain loops with the same operand rounding. Not under the
# sanitizers (the emulator switches stacks with ucontext).
find_package(Python3 COMPONENTS Interpreter)
fluxrl_have_parts(_emu_parts model model_cpu)
if(Python3_FOUND AND _emu_parts AND NOT FLUXRL_SANITIZE AND NOT FLUXRL_FUZZ)
  enable_language(CXX)
  set(_emu_dir ${CMAKE_CURRENT_SOURCE_DIR}/gpu/emu)
  set(_emu_cpp ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu.cpp)
  file(GLOB _cuda_srcs ${PROJECT_SOURCE_DIR}/model/cuda/*.cu ${PROJECT_SOURCE_DIR}/model/cuda/*.cuh)
  add_custom_command(OUTPUT ${_emu_cpp}
    COMMAND ${Python3_EXECUTABLE} ${_emu_dir}/make_emu.py ${PROJECT_SOURCE_DIR}/model/cuda ${_emu_cpp}
    DEPENDS ${_cuda_srcs} ${_emu_dir}/make_emu.py ${_emu_dir}/emu_matmul.inc ${_emu_dir}/emu.h
    COMMENT "Generating the emulated CUDA backend")
  add_executable(test_cuda_emu gpu/test_cuda_ops.c ${_emu_cpp})
  target_include_directories(test_cuda_emu PRIVATE ${_emu_dir} ${_emu_dir}/include ${PROJECT_SOURCE_DIR}/model/cuda)
  target_compile_options(test_cuda_emu PRIVATE $<$<COMPILE_LANGUAGE:C>:${FLUXRL_WARNINGS} -include ${_emu_dir}/emu_names.h>)
  set_source_files_properties(${_emu_cpp} PROPERTIES COMPILE_OPTIONS "-std=c++17;-O1")
  fluxrl_link_parts(test_cuda_emu model model_cpu)
  add_test(NAME test_cuda_emu COMMAND test_cuda_emu WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_cuda_emu PROPERTIES LABELS unit TIMEOUT 600)
endif()
