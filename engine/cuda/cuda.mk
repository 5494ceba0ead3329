# engine/cuda/cuda.mk — builds the CUDA backend plugin $(BUILD)/libspinlock_cuda.so (included by
# the Makefile; `make CUDA=1`, automatic when $(NVCC) exists).  The main binary never links
# CUDA: the plugin is dlopen()ed at start-up (engine/core/backend.c).  Every engine/cuda/*.cu
# is compiled into the plugin; standalone kernel experiments go under engine/cuda/dev/ instead.
#
# The runtime is linked statically (only cudart has a static variant in this CUDA tree); cuBLAS
# and cuFFT are shared libraries, found through ld.so.conf, the rpath to $(CUDA_HOME)/lib64 or
# $ORIGIN (a dist bundle may place them next to the plugin).  -Wl,-z,defs makes a missing
# symbol a link error here instead of a dlopen failure at run time.

CUDA_HOME   ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# Hopper machine code + PTX (JIT fallback for newer GPUs) + Ampere machine code (A100; cheap: one
# more cubin per file).
CUDA_ARCHS  ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
               -gencode arch=compute_80,code=sm_80
NVCC_FLAGS  := -O2 -std=c++17 -Xcompiler -fPIC,-Wall,-Wextra $(CUDA_ARCHS) -Iengine/core \
               $(NVCC_EXTRA)
CUDA_LIBS   := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,-rpath,'$$ORIGIN' -lcublas -lcufft \
               -lcudart_static -ldl -lpthread -lrt -lm -lstdc++
# NVCC_EXTRA="-Werror all-warnings" makes any warning fatal (used when checking a change).
NVCC_EXTRA  ?=
CUDA_SRC    := $(wildcard engine/cuda/*.cu)
CUDA_OBJ    := $(patsubst %.cu,$(BUILD)/obj/%.o,$(CUDA_SRC))
CUDA_PLUGIN := $(BUILD)/libspinlock_cuda.so

cuda: $(CUDA_PLUGIN)

$(BUILD)/obj/engine/cuda/%.o: engine/cuda/%.cu engine/cuda/cu_common.cuh
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

$(CUDA_PLUGIN): $(CUDA_OBJ)
	$(CC) -shared -o $@ $(CUDA_OBJ) $(LDFLAGS) $(CUDA_LIBS) -Wl,-z,defs

-include $(CUDA_OBJ:.o=.d)

# Test-only stand-in backend in host memory (engine/cuda/dev/fake_backend.c): exercises the
# device plumbing without a GPU.  `make test-fakecuda` runs spec/cuda_spec.lua against it.
FAKECUDA := $(BUILD)/libspinlock_fakecuda.so
fakecuda: $(FAKECUDA)
$(FAKECUDA): engine/cuda/dev/fake_backend.c engine/core/sl_backend.h engine/core/sl_device.h
	$(CC) $(ALL_CFLAGS) -shared -o $@ $<

test-fakecuda: $(BUILD)/spinlock $(FAKECUDA)
	SPINLOCK_CUDA_PLUGIN=$(abspath $(FAKECUDA)) SPINLOCK_FAKE_CUDA=1 ./$(BUILD)/spinlock run /usr/bin/busted --tags=cuda --exclude-tags=slow spec/cuda_spec.lua

# The bundle a GPU machine needs for bench/cuda_check.sh (it lacks LuaJIT, HDF5, OpenBLAS, FFTW):
# dist/spinlock compressed to fit the device tool's 64 MiB carry limit.
.PHONY: cuda-bundle fakecuda test-fakecuda
cuda-bundle:
	$(MAKE) dist CUDA=1
	tar -C dist -czf dist/spinlock.tar.gz spinlock
