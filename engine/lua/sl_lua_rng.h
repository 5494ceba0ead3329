/* sl_lua_rng.h — the Generator userdata, for bindings that draw random numbers themselves
 * (initial conditions, operator weights, noise): check the argument, draw at g->offset, then
 * advance it with sl_lua_generator_advance so the Lua-side offset stays in step. */
#ifndef SL_LUA_RNG_H
#define SL_LUA_RNG_H

#include "sl_lua.h"
#include "../core/sl_rng.h"

#define SL_GENERATOR_MT "spinlock.Generator"

typedef struct {
  sl_rng_stream stream;
  uint64_t      seed, stream_id;
  uint64_t      offset;          /* next stream position (32-bit words), multiple of 4 after draws */
} sl_generator;

/* Raises "bad argument #idx (Generator expected, got X)" otherwise. */
sl_generator *sl_lua_check_generator(lua_State *L, int idx);
/* Advances g past `words` stream words, rounded up to a whole Philox block. */
static inline void sl_lua_generator_advance(sl_generator *g, uint64_t words) {
  g->offset += (words + 3) & ~(uint64_t)3;
}

#endif
