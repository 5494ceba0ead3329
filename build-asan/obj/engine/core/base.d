build-asan/obj/engine/core/base.o: engine/core/base.c \
 engine/core/sl_base.h
engine/core/sl_base.h:
