build-asan/obj/engine/lua/main.o: engine/lua/main.c \
 /usr/include/luajit-2.1/lua.h /usr/include/luajit-2.1/luaconf.h \
 /usr/include/luajit-2.1/lauxlib.h /usr/include/luajit-2.1/lua.h \
 /usr/include/luajit-2.1/lualib.h
/usr/include/luajit-2.1/lua.h:
/usr/include/luajit-2.1/luaconf.h:
/usr/include/luajit-2.1/lauxlib.h:
/usr/include/luajit-2.1/lua.h:
/usr/include/luajit-2.1/lualib.h:
