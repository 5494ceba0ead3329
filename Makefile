# Spinlock build.  `make` builds build/spinlock; `make test` runs every spec; `make bench`;
# `make CUDA=0|1` (default: 1 when nvcc is found) also builds the CUDA backend plugin;
# `make test-asan` runs the specs under ASan+UBSan; `make dist` makes a relocatable folder.
#
# Sources are picked up by wildcard: a new engine/core/*.c or engine/lua/l_*.c needs no edit here.
# Binding modules (SL_LUA_MODULE(name) in engine/lua/l_*.c) are collected into build/gen/sl_modules.h.

CC      ?= gcc
BUILD   ?= build
ARCH    ?= native
NVCC    ?= /usr/local/cuda/bin/nvcc
CUDA    ?= $(shell test -x $(NVCC) && echo 1 || echo 0)
SAN     ?= 0

PKGS    := luajit hdf5-serial openblas fftw3f libedit libpng
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -fopenmp -fPIC -march=$(ARCH) \
               -Iengine/core -Iengine/lua -I$(BUILD)/gen $(PKG_CFLAGS)
SANFLAGS := -fsanitize=address,undefined
ifeq ($(SAN),1)
  OPT := -O1 -g $(SANFLAGS) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  OPT := -O3 -g
endif
CFLAGS  ?=
LDFLAGS ?=
# DIST=1: the binary looks for its shared libraries in $ORIGIN/lib first (make dist).  DT_RPATH
# (not RUNPATH, hence --disable-new-dtags) so that it also covers the libraries' own
# dependencies and modules dlopen()ed later (lyaml's yaml.so → libyaml).
DIST    ?= 0
comma   := ,
LINK_RPATH := $(if $(filter 1,$(DIST)),-Wl$(comma)--disable-new-dtags$(comma)-rpath$(comma)'$$ORIGIN/lib')
ALL_CFLAGS := $(CFLAGS_BASE) $(OPT) $(CFLAGS)
LIBS := $(PKG_LIBS) -lfftw3f_omp -lfftw3f -fopenmp -ldl -lm -lpthread -Wl,-E

CORE_SRC := $(wildcard engine/core/*.c)
LUA_SRC  := $(wildcard engine/lua/*.c)
OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRC) $(LUA_SRC))
DEP := $(OBJ:.o=.d)

.PHONY: all test test-asan bench dist install lint clean cuda demo valgrind
all: lint $(BUILD)/spinlock $(if $(filter 1,$(CUDA)),cuda)

$(BUILD)/gen/sl_modules.h: $(LUA_SRC) Makefile
	@mkdir -p $(dir $@)
	@grep -ho '^SL_LUA_MODULE([a-z_0-9]*)' $(LUA_SRC) | sed 's/^SL_LUA_MODULE/SL_MODULE/' | sort > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/obj/engine/lua/%.o: engine/lua/%.c $(BUILD)/gen/sl_modules.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/spinlock: $(OBJ)
	$(CC) $(OBJ) -o $@ $(LDFLAGS) $(LINK_RPATH) $(LIBS) $(if $(filter 1,$(SAN)),$(SANFLAGS))

# The layer rule of DESIGN.md: the core and the CUDA kernels never see Lua.
lint:
	@if grep -rlE '#include *[<"](lua|lauxlib|lualib|luajit)\.h' engine/core engine/cuda 2>/dev/null; then \
	  echo "lint: engine/core and engine/cuda must not include Lua headers" >&2; exit 1; fi

test: all
	./$(BUILD)/spinlock run /usr/bin/busted

test-asan:
	$(MAKE) BUILD=build-asan SAN=1 CUDA=0 build-asan/spinlock
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  SPINLOCK_SANITIZED=1 ./build-asan/spinlock run /usr/bin/busted

# The main job (README): until the pipeline lands, a tour of the engine.
demo: all
	./$(BUILD)/spinlock demo

# Memory-checks a smoke script and the engine tour.  Uses the dist build (x86-64-v3: valgrind cannot
# decode AVX-512, which -march=native may emit) with OpenBLAS pinned to AVX2 kernels.  No
# suppressions are needed so far; add a file under tools/valgrind/ if LuaJIT ever needs one.
# OMP_WAIT_POLICY is set as main.c would set it (it skips its start-up re-exec under valgrind).
# Only definite leaks are shown: libgomp's pool threads keep their TLS ("possibly lost").
VALGRIND := OPENBLAS_CORETYPE=Haswell OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 valgrind -q --error-exitcode=99 \
            --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
valgrind:
	$(MAKE) BUILD=build-dist ARCH=x86-64-v3 DIST=1 CUDA=0 build-dist/spinlock
	$(VALGRIND) ./build-dist/spinlock run tools/valgrind/smoke.lua
	$(VALGRIND) ./build-dist/spinlock tour > /dev/null

# make install PREFIX=/opt/spinlock [DESTDIR=...]: bin/spinlock, share/spinlock/{lua,recipes,
# configs,docs}, lib/spinlock/libspinlock_cuda.so (where main.c and backend.c look for them).
PREFIX  ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/spinlock
	install -m 755 $(BUILD)/spinlock $(DESTDIR)$(PREFIX)/bin/spinlock
	for d in lua recipes configs docs; do \
	  rm -rf $(DESTDIR)$(PREFIX)/share/spinlock/$$d; \
	  if [ -d $$d ]; then cp -R $$d $(DESTDIR)$(PREFIX)/share/spinlock/; fi; \
	done
	if [ -f $(BUILD)/libspinlock_cuda.so ]; then \
	  install -D -m 755 $(BUILD)/libspinlock_cuda.so $(DESTDIR)$(PREFIX)/lib/spinlock/libspinlock_cuda.so; fi

# make dist: dist/spinlock/, a folder that runs on x86-64-v3 machines without the -dev
# packages: portable build with $ORIGIN rpath, Lua tree, plugin, bundled non-glibc libraries
# and their licences; then checks it in a scrubbed environment (tools/dist.sh).
dist:
	$(MAKE) BUILD=build-dist ARCH=x86-64-v3 DIST=1 all
	tools/dist.sh build-dist dist/spinlock

bench: all
	./$(BUILD)/spinlock run bench/run_all.lua

clean:
	rm -rf build build-asan build-dist dist

include engine/cuda/cuda.mk

-include $(DEP)
