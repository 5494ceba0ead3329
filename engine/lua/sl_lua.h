/* sl_lua.h — shared helpers for the Lua bindings (engine/lua only; the core never sees Lua).
 *
 * Conventions for every binding:
 *  - Lua-side dims and indices are 1-based (torch7 style); negative dims count from the end
 *    (-1 = last).  Bindings convert to the core's 0-based dims.
 *  - A binding calls core functions, and on a non-OK status frees its temporaries and calls
 *    sl_lua_raise(L, "opname"), which raises a Lua error carrying the core message.
 *  - A userdata owns exactly one reference to its sl_tensor (sl_lua_push_tensor takes it).
 *  - Each binding file defines one module with SL_LUA_MODULE(name) { ... }; the build collects
 *    them automatically (grep of SL_LUA_MODULE in engine/lua/l_*.c), so adding a file needs no
 *    edit elsewhere.  The function receives the stack index of the `spinlock.core` table. */
#ifndef SL_LUA_H
#define SL_LUA_H

#include <lua.h>
#include <lauxlib.h>
#include "../core/sl_tensor.h"

#define SL_TENSOR_MT "spinlock.Tensor"

#define SL_LUA_MODULE(name) int sl_lua_open_##name(lua_State *L, int core)

/* Checks that argument idx is a live tensor; raises "bad argument #idx to 'fname' (Tensor
 * expected, got X)" otherwise. */
sl_tensor *sl_lua_check_tensor(lua_State *L, int idx);
sl_tensor *sl_lua_opt_tensor(lua_State *L, int idx);   /* NULL when nil/none */
int        sl_lua_is_tensor(lua_State *L, int idx);
void      *luaL_testudata_compat(lua_State *L, int idx, const char *mt);
void       sl_lua_free_tensor(lua_State *L, int idx);
/* Pushes a userdata owning the caller's reference to t (t must not be NULL). */
void       sl_lua_push_tensor(lua_State *L, sl_tensor *t);
/* Pushes one feature-catalog entry {name, category, formula, meaning}: the shape every
 * extractor's catalog() returns to Lua (features registry, docs/features.md). */
void       sl_lua_push_catalog_entry(lua_State *L, const char *name, const char *category,
                                     const char *formula, const char *meaning);
/* Adds delta to every element of a fresh, contiguous int64 index tensor the binding owns: the
 * one place where 0-based core indices become 1-based Lua ones (delta +1) and back (-1). */
void       sl_lua_shift_indices(sl_tensor *idx, int64_t delta);
/* Raises a Lua error from the core's last error ("op: message").  Never returns. */
int        sl_lua_raise(lua_State *L, const char *op);
#define SL_LUA_TRY(L, op, expr) do { if ((expr) != SL_OK) return sl_lua_raise((L), (op)); } while (0)

/* Adds functions to the Tensor methods table (t:name(...)). */
void       sl_lua_add_tensor_methods(lua_State *L, const luaL_Reg *fns);
/* Sets fns into the table at stack index tbl. */
void       sl_lua_set_functions(lua_State *L, int tbl, const luaL_Reg *fns);
/* dtype argument: nil → def, or a name ("float32", "f32", "float", "double", "int32", "int64",
 * "long", "uint8", "byte"). */
sl_dtype   sl_lua_opt_dtype(lua_State *L, int idx, sl_dtype def);
/* Reads a shape given either as a table {2,3} at idx or as numbers idx..top; returns ndim. */
int        sl_lua_check_shape(lua_State *L, int idx, int64_t *shape);
/* 1-based Lua dim (negative from end) → 0-based dim for tensor t; raises on out of range. */
int        sl_lua_check_dim(lua_State *L, int idx, const sl_tensor *t);
/* Converts a Lua number or tensor argument to a tensor (numbers become 0-d tensors of dtype dt). */
sl_tensor *sl_lua_to_tensor(lua_State *L, int idx, sl_dtype dt);

#endif
