/* l_hdf5.c — the H5File userdata over engine/core/h5.c (API documented in docs/hdf5.md).
 *
 * Registered as core._h5 = {open, is_hdf5}; lua/spinlock/h5.lua turns it into the public sl.h5.
 * Lua indices are 1-based (start rows, string offsets); the core is 0-based.  Everything read
 * from Lua tables is collected before the core is called (temporary arrays live in userdata the
 * GC owns), so a Lua error can never leak core memory.  Core errors already name the file and the
 * path inside it and are raised unchanged. */
#include "sl_lua.h"
#include "sl_h5.h"

#include <math.h>
#include <string.h>

#define H5FILE_MT "spinlock.H5File"

typedef struct { sl_h5_file *f; } h5_ud;

static int raise_core(lua_State *L) { return sl_lua_raise(L, NULL); }
#define TRY(expr) do { if ((expr) != SL_OK) return raise_core(L); } while (0)

static h5_ud *check_ud(lua_State *L) { return luaL_checkudata(L, 1, H5FILE_MT); }

static sl_h5_file *check_file(lua_State *L) {
  h5_ud *u = check_ud(L);
  if (!u->f) luaL_error(L, "h5: the file is closed");
  return u->f;
}

/* ------------------------------------------------------------ argument helpers */

/* A 1-based index argument: a number or a table of numbers → 0-based array; returns the count.
 * nil/none → 0 entries. */
static int opt_index(lua_State *L, int idx, int64_t *out, const char *what) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double v = lua_tonumber(L, idx);
    if (v < 1 || v != floor(v)) luaL_argerror(L, idx, lua_pushfstring(L, "%s must be an integer >= 1 (indices are 1-based)", what));
    out[0] = (int64_t)v - 1;
    return 1;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = (int)lua_objlen(L, idx);
  if (n > SL_MAX_DIMS) luaL_argerror(L, idx, "too many indices (at most 8)");
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    double v = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || v < 1 || v != floor(v))
      luaL_argerror(L, idx, lua_pushfstring(L, "%s entries must be integers >= 1 (indices are 1-based)", what));
    out[i] = (int64_t)v - 1;
    lua_pop(L, 1);
  }
  return n;
}

/* Count argument: number or table; nil entries (or a missing argument) mean "to the end" (-1). */
static int opt_count(lua_State *L, int idx, int64_t *out, int n) {
  for (int i = 0; i < SL_MAX_DIMS; i++) out[i] = -1;
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double v = lua_tonumber(L, idx);
    if (v < 0 || v != floor(v)) luaL_argerror(L, idx, "count must be an integer >= 0");
    out[0] = (int64_t)v;
    return 1;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  int m = (int)lua_objlen(L, idx);
  if (m > n) luaL_argerror(L, idx, lua_pushfstring(L, "%d counts given for %d start indices", m, n));
  for (int i = 0; i < m; i++) {
    lua_rawgeti(L, idx, i + 1);
    if (!lua_isnil(L, -1)) {
      double v = lua_tonumber(L, -1);
      if (!lua_isnumber(L, -1) || v < 0 || v != floor(v)) luaL_argerror(L, idx, "count entries must be integers >= 0");
      out[i] = (int64_t)v;
    }
    lua_pop(L, 1);
  }
  return m;
}

/* Collects the strings of the table at idx into a GC-owned array (pushed on the stack). */
static const char **check_strings(lua_State *L, int idx, int64_t *n) {
  luaL_checktype(L, idx, LUA_TTABLE);
  size_t len = lua_objlen(L, idx);
  const char **v = lua_newuserdata(L, (len ? len : 1) * sizeof *v);
  for (size_t i = 0; i < len; i++) {
    lua_rawgeti(L, idx, (int)i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, idx, lua_pushfstring(L, "element %d is a %s, expected a string", (int)i + 1, luaL_typename(L, -1)));
    v[i] = lua_tostring(L, -1);  /* stays alive: anchored in the table */
    lua_pop(L, 1);
  }
  *n = (int64_t)len;
  return v;
}

static int is_integral(double v) { return v == floor(v) && fabs(v) < 9.2e18; }

/* ------------------------------------------------------------ pushing results */

static void push_shape(lua_State *L, int n, const int64_t *s) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushnumber(L, s[i] == SL_H5_UNLIMITED ? HUGE_VAL : (double)s[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static void push_info(lua_State *L, const sl_h5_info *in) {
  static const char *const kinds[] = {"group", "dataset", "other"};
  lua_createtable(L, 0, 10);
  lua_pushstring(L, in->name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, in->path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, kinds[in->kind]);
  lua_setfield(L, -2, "kind");
  if (in->kind != SL_H5_KIND_DATASET) return;
  lua_pushstring(L, in->dtype);
  lua_setfield(L, -2, "dtype");
  push_shape(L, in->ndim, in->shape);
  lua_setfield(L, -2, "shape");
  push_shape(L, in->ndim, in->maxshape);
  lua_setfield(L, -2, "maxshape");
  if (in->chunked) {
    push_shape(L, in->ndim, in->chunks);
    lua_setfield(L, -2, "chunks");
  }
  if (in->compression[0]) {
    lua_pushstring(L, in->compression);
    lua_setfield(L, -2, "compression");
    if (in->level > 0) {
      lua_pushinteger(L, in->level);
      lua_setfield(L, -2, "level");
    }
  }
  lua_pushboolean(L, in->shuffle);
  lua_setfield(L, -2, "shuffle");
}

static void push_strings(lua_State *L, char **v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
}

/* Nested Lua table of a tensor's values (1-D → flat list). */
static void push_nested(lua_State *L, const sl_tensor *t, int dim, int64_t *idx) {
  lua_createtable(L, (int)t->shape[dim], 0);
  for (int64_t i = 0; i < t->shape[dim]; i++) {
    idx[dim] = i;
    if (dim == t->ndim - 1) lua_pushnumber(L, sl_tensor_get(t, idx));
    else push_nested(L, t, dim + 1, idx);
    lua_rawseti(L, -2, (int)i + 1);
  }
}

/* Pushes an attribute value; the caller clears a afterwards (pushing copies everything, and
 * ARRAY tensors are only read here, so no Lua error can happen while a holds references that
 * the caller would not free — lua_* allocation errors are the exception and leak at most a). */
static void push_attr(lua_State *L, sl_h5_attr *a, int as_tensor) {
  switch (a->kind) {
    case SL_H5_ATTR_INT: lua_pushnumber(L, (double)a->i); break;
    case SL_H5_ATTR_FLOAT: lua_pushnumber(L, a->d); break;
    case SL_H5_ATTR_STRING: lua_pushstring(L, a->str); break;
    case SL_H5_ATTR_STRINGS: push_strings(L, a->strs, a->nstrs); break;
    case SL_H5_ATTR_ARRAY:
      if (as_tensor) {
        sl_lua_push_tensor(L, a->array);
        a->array = NULL;  /* the userdata owns it now */
      } else {
        int64_t idx[SL_MAX_DIMS] = {0};
        push_nested(L, a->array, 0, idx);
      }
      break;
  }
}

/* ------------------------------------------------------------ module functions */

/* sl.h5.open(filename [, mode = "r"]) */
static int l_open(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  h5_ud *u = lua_newuserdata(L, sizeof *u);  /* first, so a failed allocation leaks nothing */
  u->f = NULL;
  luaL_getmetatable(L, H5FILE_MT);
  lua_setmetatable(L, -2);
  TRY(sl_h5_open(&u->f, name, mode));
  return 1;
}

static int l_is_hdf5(lua_State *L) {
  lua_pushboolean(L, sl_h5_is_hdf5(luaL_checkstring(L, 1)));
  return 1;
}

/* ------------------------------------------------------------ file methods */

static int m_close(lua_State *L) {
  h5_ud *u = check_ud(L);
  sl_h5_file *f = u->f;
  u->f = NULL;
  TRY(sl_h5_close(f));
  return 0;
}

static int mm_gc(lua_State *L) {
  h5_ud *u = check_ud(L);
  if (u->f) {
    sl_h5_close(u->f);  /* no error can be raised from __gc */
    sl_error_clear();
    u->f = NULL;
  }
  return 0;
}

static int mm_tostring(lua_State *L) {
  h5_ud *u = check_ud(L);
  if (u->f) lua_pushfstring(L, "H5File(%s, '%s')", sl_h5_filename(u->f), sl_h5_mode(u->f));
  else lua_pushstring(L, "H5File(closed)");
  return 1;
}

static int m_is_open(lua_State *L) {
  lua_pushboolean(L, check_ud(L)->f != NULL);
  return 1;
}

static int m_filename(lua_State *L) {
  lua_pushstring(L, sl_h5_filename(check_file(L)));
  return 1;
}

static int m_mode(lua_State *L) {
  lua_pushstring(L, sl_h5_mode(check_file(L)));
  return 1;
}

static int m_flush(lua_State *L) {
  TRY(sl_h5_flush(check_file(L)));
  return 0;
}

static int m_exists(lua_State *L) {
  int e;
  TRY(sl_h5_exists(check_file(L), luaL_checkstring(L, 2), &e));
  lua_pushboolean(L, e);
  return 1;
}

static int m_create_group(lua_State *L) {
  TRY(sl_h5_create_group(check_file(L), luaL_checkstring(L, 2)));
  return 0;
}

static int m_delete(lua_State *L) {
  TRY(sl_h5_delete(check_file(L), luaL_checkstring(L, 2)));
  return 0;
}

/* Reads opts.<key> as a list of ndim sizes into out; unlimited entries (nil, -1, math.huge or
 * "unlimited") allowed only when allow_unlimited. Returns 1 if the key was present. */
static int opt_sizes(lua_State *L, int opts, const char *key, int ndim, int64_t *out, int allow_unlimited) {
  lua_getfield(L, opts, key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  if (!lua_istable(L, -1)) luaL_error(L, "create_dataset: %s must be a table of sizes", key);
  int tbl = lua_gettop(L);
  for (int i = 0; i < ndim; i++) {
    lua_rawgeti(L, tbl, i + 1);
    int ty = lua_type(L, -1);
    double v = ty == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (allow_unlimited && (ty == LUA_TNIL || (ty == LUA_TNUMBER && (v == -1 || isinf(v))) ||
                            (ty == LUA_TSTRING && !strcmp(lua_tostring(L, -1), "unlimited"))))
      out[i] = SL_H5_UNLIMITED;
    else if (ty == LUA_TNUMBER && v >= 0 && v == floor(v))
      out[i] = (int64_t)v;
    else
      luaL_error(L, "create_dataset: %s[%d] must be a size >= 0%s", key, i + 1,
                 allow_unlimited ? " or nil/-1/math.huge/\"unlimited\"" : "");
    lua_pop(L, 1);
  }
  if (lua_objlen(L, tbl) > (size_t)ndim) luaL_error(L, "create_dataset: %s has more entries than shape (%d)", key, ndim);
  lua_pop(L, 1);
  return 1;
}

/* f:create_dataset(path, {shape=, dtype=, maxshape=, unlimited=, chunks=, compression=, level=, shuffle=}) */
static int m_create_dataset(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  static const char *const known[] = {"shape", "dtype", "maxshape", "unlimited", "chunks",
                                      "compression", "level", "shuffle", NULL};
  for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) {
    int ok = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (int i = 0; known[i]; i++) ok |= !strcmp(known[i], lua_tostring(L, -2));
    if (!ok)
      luaL_error(L, "create_dataset: unknown option '%s' (expected shape, dtype, maxshape, unlimited, chunks, compression, level, shuffle)",
                 lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : luaL_typename(L, -2));
  }
  sl_h5_dataset_opts o;
  memset(&o, 0, sizeof o);
  lua_getfield(L, 3, "shape");
  if (!lua_istable(L, -1)) luaL_error(L, "create_dataset: option 'shape' (a table of sizes) is required");
  o.ndim = (int)lua_objlen(L, -1);
  lua_pop(L, 1);
  if (o.ndim > SL_MAX_DIMS) luaL_error(L, "create_dataset: shape has %d dims (at most %d)", o.ndim, SL_MAX_DIMS);
  opt_sizes(L, 3, "shape", o.ndim, o.shape, 0);

  lua_getfield(L, 3, "dtype");
  const char *dt = lua_isnil(L, -1) ? "float32" : lua_tostring(L, -1);
  if (!dt || sl_h5_dtype_from_name(dt, &o.dtype) != 0)
    luaL_error(L, "create_dataset: unknown dtype '%s' (expected float32, float64, int32, int64, uint8, float16 or string)",
               dt ? dt : luaL_typename(L, -1));
  lua_pop(L, 1);

  if (!opt_sizes(L, 3, "maxshape", o.ndim, o.maxshape, 1)) {
    lua_getfield(L, 3, "unlimited");
    if (lua_toboolean(L, -1) && o.ndim > 0) o.maxshape[0] = SL_H5_UNLIMITED;
    lua_pop(L, 1);
  }
  opt_sizes(L, 3, "chunks", o.ndim, o.chunks, 0);

  lua_getfield(L, 3, "compression");
  lua_getfield(L, 3, "level");
  const char *comp = lua_tostring(L, -2);
  int has_level = !lua_isnil(L, -1);
  if (!lua_isnil(L, -2) && (!comp || (strcmp(comp, "gzip") && strcmp(comp, "none"))))
    luaL_error(L, "create_dataset: compression must be \"gzip\" or \"none\", got %s", comp ? comp : luaL_typename(L, -2));
  if ((comp && !strcmp(comp, "gzip")) || (!comp && has_level)) {
    double lv = has_level ? lua_tonumber(L, -1) : 4;
    if (lv < 1 || lv > 9 || lv != floor(lv)) luaL_error(L, "create_dataset: gzip level must be an integer 1..9");
    o.gzip = (int)lv;
  }
  lua_pop(L, 2);
  lua_getfield(L, 3, "shuffle");
  o.shuffle = lua_toboolean(L, -1);
  lua_pop(L, 1);

  TRY(sl_h5_create_dataset(f, path, &o));
  return 0;
}

/* f:write(path, tensor [, start]) */
static int m_write(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  sl_tensor *t = sl_lua_check_tensor(L, 3);
  int64_t start[SL_MAX_DIMS];
  int n = opt_index(L, 4, start, "start");
  TRY(sl_h5_write(f, path, t, n, start));
  return 0;
}

/* f:append(path, tensor) → new number of rows */
static int m_append(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  sl_tensor *t = sl_lua_check_tensor(L, 3);
  int64_t rows;
  TRY(sl_h5_append(f, path, t, &rows));
  lua_pushnumber(L, (double)rows);
  return 1;
}

/* f:read(path [, start [, count]]) → tensor */
static int m_read(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  int64_t start[SL_MAX_DIMS], count[SL_MAX_DIMS];
  int n = opt_index(L, 3, start, "start");
  int m = opt_count(L, 4, count, n > 0 ? n : 0);
  if (m > 0 && n == 0) luaL_argerror(L, 4, "a count needs a start");
  sl_tensor *t;
  TRY(sl_h5_read(&t, f, path, n, start, count));
  sl_lua_push_tensor(L, t);
  return 1;
}

static int m_resize(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  double rows = luaL_checknumber(L, 3);
  if (rows < 0 || rows != floor(rows)) luaL_argerror(L, 3, "rows must be an integer >= 0");
  TRY(sl_h5_resize(f, path, (int64_t)rows));
  return 0;
}

/* f:write_strings(path, {...} [, start = 1]) */
static int m_write_strings(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  int64_t n, start = luaL_optinteger(L, 4, 1) - 1;
  if (start < 0) luaL_argerror(L, 4, "start must be an integer >= 1 (indices are 1-based)");
  const char **v = check_strings(L, 3, &n);
  TRY(sl_h5_write_strings(f, path, v, n, start));
  return 0;
}

/* f:append_strings(path, {...}) → new number of strings */
static int m_append_strings(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  int64_t n;
  const char **v = check_strings(L, 3, &n);
  TRY(sl_h5_write_strings(f, path, v, n, SL_H5_APPEND));
  sl_h5_info in;
  TRY(sl_h5_info_get(&in, f, path));
  lua_pushnumber(L, (double)in.shape[0]);
  sl_h5_info_clear(&in);
  return 1;
}

/* f:read_strings(path [, start [, count]]) → table */
static int m_read_strings(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  int64_t start = luaL_optinteger(L, 3, 1) - 1, count = -1;
  if (start < 0) luaL_argerror(L, 3, "start must be an integer >= 1 (indices are 1-based)");
  if (!lua_isnoneornil(L, 4)) {
    double c = luaL_checknumber(L, 4);
    if (c < 0 || c != floor(c)) luaL_argerror(L, 4, "count must be an integer >= 0");
    count = (int64_t)c;
  }
  char **v;
  int64_t n;
  TRY(sl_h5_read_strings(&v, &n, f, path, start, count));
  push_strings(L, v, n);
  sl_h5_strings_free(v, n);
  return 1;
}

static int m_info(lua_State *L) {
  sl_h5_info in;
  TRY(sl_h5_info_get(&in, check_file(L), luaL_optstring(L, 2, "/")));
  push_info(L, &in);
  sl_h5_info_clear(&in);
  return 1;
}

static int list_common(lua_State *L, int recursive) {
  sl_h5_info *v;
  size_t n;
  TRY(sl_h5_list(&v, &n, check_file(L), luaL_optstring(L, 2, "/"), recursive));
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    push_info(L, &v[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  sl_h5_infos_free(v, n);
  return 1;
}

static int m_list(lua_State *L) { return list_common(L, 0); }
static int m_walk(lua_State *L) { return list_common(L, 1); }

/* f:set_attr(path, name, value) — number (integral → int64, else float64), boolean (0/1),
 * string, table of strings, table of numbers, tensor. */
static int m_set_attr(lua_State *L) {
  sl_h5_file *f = check_file(L);
  const char *path = luaL_checkstring(L, 2);
  const char *name = luaL_checkstring(L, 3);
  switch (lua_type(L, 4)) {
    case LUA_TNUMBER: {
      double v = lua_tonumber(L, 4);
      TRY(is_integral(v) ? sl_h5_set_attr_int(f, path, name, (int64_t)v) : sl_h5_set_attr_float(f, path, name, v));
      return 0;
    }
    case LUA_TBOOLEAN: TRY(sl_h5_set_attr_int(f, path, name, lua_toboolean(L, 4))); return 0;
    case LUA_TSTRING: TRY(sl_h5_set_attr_string(f, path, name, lua_tostring(L, 4))); return 0;
    case LUA_TTABLE: {
      size_t n = lua_objlen(L, 4);
      lua_rawgeti(L, 4, 1);
      int first = lua_type(L, -1);
      lua_pop(L, 1);
      if (n == 0 || first == LUA_TSTRING) {
        int64_t cnt;
        const char **v = check_strings(L, 4, &cnt);
        TRY(sl_h5_set_attr_strings(f, path, name, v, cnt));
        return 0;
      }
      int all_int = 1;
      for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 4, (int)i);
        if (lua_type(L, -1) != LUA_TNUMBER)
          luaL_argerror(L, 4, lua_pushfstring(L, "element %d is a %s; expected all numbers or all strings", (int)i, luaL_typename(L, -1)));
        all_int &= is_integral(lua_tonumber(L, -1));
        lua_pop(L, 1);
      }
      sl_tensor *t;
      int64_t shape[1] = {(int64_t)n};
      TRY(sl_tensor_empty(&t, all_int ? SL_DTYPE_I64 : SL_DTYPE_F64, 1, shape));
      sl_lua_push_tensor(L, t);  /* GC-owned from here on */
      for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 4, (int)i + 1);
        sl_store_f64(sl_tensor_data(t), t->dtype, (int64_t)i, lua_tonumber(L, -1));
        lua_pop(L, 1);
      }
      TRY(sl_h5_set_attr_array(f, path, name, t));
      return 0;
    }
    default:
      if (sl_lua_is_tensor(L, 4)) {
        TRY(sl_h5_set_attr_array(f, path, name, sl_lua_check_tensor(L, 4)));
        return 0;
      }
      return luaL_argerror(L, 4, lua_pushfstring(L, "attribute value must be a number, boolean, string, table or tensor, got %s",
                                                 luaL_typename(L, 4)));
  }
}

static int attr_common(lua_State *L, int as_tensor) {
  sl_h5_attr a;
  TRY(sl_h5_get_attr(&a, check_file(L), luaL_checkstring(L, 2), luaL_checkstring(L, 3)));
  if (as_tensor && a.kind != SL_H5_ATTR_ARRAY) {
    sl_h5_attr_clear(&a);
    return luaL_error(L, "attr_tensor: attribute '%s' is not a numeric array", lua_tostring(L, 3));
  }
  push_attr(L, &a, as_tensor);
  sl_h5_attr_clear(&a);
  return 1;
}

static int m_attr(lua_State *L) { return attr_common(L, 0); }
static int m_attr_tensor(lua_State *L) { return attr_common(L, 1); }

static int m_attrs(lua_State *L) {
  sl_h5_attr *v;
  size_t n;
  TRY(sl_h5_get_attrs(&v, &n, check_file(L), luaL_optstring(L, 2, "/")));
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    push_attr(L, &v[i], 0);
    lua_setfield(L, -2, v[i].name);
  }
  sl_h5_attrs_free(v, n);
  return 1;
}

static int m_delete_attr(lua_State *L) {
  TRY(sl_h5_delete_attr(check_file(L), luaL_checkstring(L, 2), luaL_checkstring(L, 3)));
  return 0;
}

SL_LUA_MODULE(hdf5) {
  static const luaL_Reg methods[] = {
    {"close", m_close}, {"is_open", m_is_open}, {"filename", m_filename}, {"mode", m_mode},
    {"flush", m_flush}, {"exists", m_exists}, {"create_group", m_create_group}, {"delete", m_delete},
    {"create_dataset", m_create_dataset}, {"write", m_write}, {"append", m_append}, {"read", m_read},
    {"resize", m_resize}, {"write_strings", m_write_strings}, {"append_strings", m_append_strings},
    {"read_strings", m_read_strings}, {"info", m_info}, {"list", m_list}, {"walk", m_walk},
    {"set_attr", m_set_attr}, {"attr", m_attr}, {"attr_tensor", m_attr_tensor}, {"attrs", m_attrs},
    {"delete_attr", m_delete_attr}, {NULL, NULL}};
  luaL_newmetatable(L, H5FILE_MT);
  lua_newtable(L);
  sl_lua_set_functions(L, -1, methods);
  lua_setfield(L, -2, "__index");
  const luaL_Reg meta[] = {{"__gc", mm_gc}, {"__tostring", mm_tostring}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, meta);
  lua_pushstring(L, "H5File");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);

  lua_newtable(L);
  const luaL_Reg fns[] = {{"open", l_open}, {"is_hdf5", l_is_hdf5}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, fns);
  luaL_getmetatable(L, H5FILE_MT);
  lua_setfield(L, -2, "_file_mt");
  lua_setfield(L, core, "_h5");
  return 0;
}
