build-asan/obj/engine/lua/main.o: engine/lua/main.c engine/lua/sl_lua.h \
 /usr/include/luajit-2.1/lua.h /usr/include/luajit-2.1/luaconf.h \
 /usr/include/luajit-2.1/lauxlib.h /usr/include/luajit-2.1/lua.h \
 engine/lua/../core/sl_tensor.h engine/lua/../core/sl_base.h \
 engine/lua/../core/sl_backend.h engine/lua/../core/sl_tensor.h \
 engine/lua/../core/sl_signal.h /usr/include/luajit-2.1/luajit.h \
 /usr/include/luajit-2.1/lualib.h
engine/lua/sl_lua.h:
/usr/include/luajit-2.1/lua.h:
/usr/include/luajit-2.1/luaconf.h:
/usr/include/luajit-2.1/lauxlib.h:
/usr/include/luajit-2.1/lua.h:
engine/lua/../core/sl_tensor.h:
engine/lua/../core/sl_base.h:
engine/lua/../core/sl_backend.h:
engine/lua/../core/sl_tensor.h:
engine/lua/../core/sl_signal.h:
/usr/include/luajit-2.1/luajit.h:
/usr/include/luajit-2.1/lualib.h:
