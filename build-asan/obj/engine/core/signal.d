build-asan/obj/engine/core/signal.o: engine/core/signal.c \
 engine/core/sl_signal.h
engine/core/sl_signal.h:
