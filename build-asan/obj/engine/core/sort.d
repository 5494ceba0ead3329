build-asan/obj/engine/core/sort.o: engine/core/sort.c \
 engine/core/sl_sort.h engine/core/sl_tensor.h engine/core/sl_base.h
engine/core/sl_sort.h:
engine/core/sl_tensor.h:
engine/core/sl_base.h:
