# engine/cuda/cuda.mk — builds the CUDA backend plugin $(BUILD)/libspinlock_cuda.so (included by
# the Makefile; `make CUDA=1`, automatic when $(NVCC) exists).  The main binary never links
# CUDA: the plugin is dlopen()ed at start-up (engine/core/backend.c).  Every engine/cuda/*.cu
# is compiled into the plugin; standalone kernel experiments go under engine/cuda/dev/ instead.
#
# The runtime is linked statically (only cudart has a static variant in this CUDA tree); add
# -lcublas / -lcufft to CUDA_LIBS when a kernel needs them; the rpath lets the plugin find
# them on machines whose ld.so.conf lacks the CUDA directory.  -Wl,-z,defs makes a missing
# symbol a link error here instead of a dlopen failure at run time.

CUDA_HOME   ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCHS  ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
NVCC_FLAGS  := -O2 -std=c++17 -Xcompiler -fPIC,-Wall $(CUDA_ARCHS) -Iengine/core
CUDA_LIBS   := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart_static -ldl -lpthread -lrt -lstdc++
CUDA_SRC    := $(wildcard engine/cuda/*.cu)
CUDA_OBJ    := $(patsubst %.cu,$(BUILD)/obj/%.o,$(CUDA_SRC))
CUDA_PLUGIN := $(BUILD)/libspinlock_cuda.so

cuda: $(CUDA_PLUGIN)

$(BUILD)/obj/engine/cuda/%.o: engine/cuda/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

$(CUDA_PLUGIN): $(CUDA_OBJ)
	$(CC) -shared -o $@ $(CUDA_OBJ) $(LDFLAGS) $(CUDA_LIBS) -Wl,-z,defs

-include $(CUDA_OBJ:.o=.d)
