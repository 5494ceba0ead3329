build-asan/obj/engine/lua/l_reduce.o: engine/lua/l_reduce.c \
 engine/lua/sl_lua.h /usr/include/luajit-2.1/lua.h \
 /usr/include/luajit-2.1/luaconf.h /usr/include/luajit-2.1/lauxlib.h \
 /usr/include/luajit-2.1/lua.h engine/lua/../core/sl_tensor.h \
 engine/lua/../core/sl_base.h engine/core/sl_reduce.h \
 engine/core/sl_tensor.h
engine/lua/sl_lua.h:
/usr/include/luajit-2.1/lua.h:
/usr/include/luajit-2.1/luaconf.h:
/usr/include/luajit-2.1/lauxlib.h:
/usr/include/luajit-2.1/lua.h:
engine/lua/../core/sl_tensor.h:
engine/lua/../core/sl_base.h:
engine/core/sl_reduce.h:
engine/core/sl_tensor.h:
