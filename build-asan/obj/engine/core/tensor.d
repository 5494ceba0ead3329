build-asan/obj/engine/core/tensor.o: engine/core/tensor.c \
 engine/core/sl_tensor.h engine/core/sl_base.h
engine/core/sl_tensor.h:
engine/core/sl_base.h:
