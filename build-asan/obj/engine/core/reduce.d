build-asan/obj/engine/core/reduce.o: engine/core/reduce.c \
 engine/core/sl_reduce.h engine/core/sl_tensor.h engine/core/sl_base.h
engine/core/sl_reduce.h:
engine/core/sl_tensor.h:
engine/core/sl_base.h:
