build-asan/obj/engine/lua/l_init.o: engine/lua/l_init.c \
 engine/lua/sl_lua.h /usr/include/luajit-2.1/lua.h \
 /usr/include/luajit-2.1/luaconf.h /usr/include/luajit-2.1/lauxlib.h \
 /usr/include/luajit-2.1/lua.h engine/lua/../core/sl_tensor.h \
 engine/lua/../core/sl_base.h build-asan/gen/sl_modules.h
engine/lua/sl_lua.h:
/usr/include/luajit-2.1/lua.h:
/usr/include/luajit-2.1/luaconf.h:
/usr/include/luajit-2.1/lauxlib.h:
/usr/include/luajit-2.1/lua.h:
engine/lua/../core/sl_tensor.h:
engine/lua/../core/sl_base.h:
build-asan/gen/sl_modules.h:
