/* base.c — error state, dtype tables, the tracked allocator and thread-count control.
 *
 * The error message lives in thread-local storage so kernels running on worker threads (and
 * several Lua states in one process) never overwrite each other's reports.  The allocator keeps
 * per-device live-byte counters so leaks are visible from Lua (sl.memory_info) and from specs. */
#include "sl_base.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <omp.h>

static _Thread_local char      err_msg[2048];
static _Thread_local char      err_loc[256];
static _Thread_local sl_status err_status = SL_OK;

sl_status sl_error_set(sl_status st, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  va_end(ap);
  const char *base = strrchr(file, '/');
  snprintf(err_loc, sizeof err_loc, "%s:%d", base ? base + 1 : file, line);
  err_status = st;
  return st;
}

const char *sl_error_message(void) { return err_status == SL_OK && !err_msg[0] ? "no error" : err_msg; }
const char *sl_error_location(void) { return err_loc; }
sl_status   sl_error_status(void) { return err_status; }
void        sl_error_clear(void) { err_msg[0] = 0; err_loc[0] = 0; err_status = SL_OK; }

const char *sl_status_name(sl_status st) {
  static const char *names[] = {"ok", "bad argument", "shape mismatch", "unsupported dtype",
                                "out of memory", "I/O error", "device error", "not implemented",
                                "internal error"};
  return (unsigned)st < sizeof names / sizeof *names ? names[st] : "unknown status";
}

static const size_t dtype_sizes[SL_DTYPE_COUNT] = {4, 8, 4, 8, 1};
static const char *dtype_names[SL_DTYPE_COUNT] = {"float32", "float64", "int32", "int64", "uint8"};

size_t sl_dtype_size(sl_dtype dt) { return (unsigned)dt < SL_DTYPE_COUNT ? dtype_sizes[dt] : 0; }
const char *sl_dtype_name(sl_dtype dt) { return (unsigned)dt < SL_DTYPE_COUNT ? dtype_names[dt] : "?"; }
int sl_dtype_is_float(sl_dtype dt) { return dt == SL_DTYPE_F32 || dt == SL_DTYPE_F64; }
const char *sl_device_name(sl_device d) { return d == SL_DEV_CUDA ? "cuda" : "cpu"; }

int sl_dtype_from_name(const char *name, sl_dtype *out) {
  static const struct { const char *n; sl_dtype d; } aliases[] = {
    {"float32", SL_DTYPE_F32}, {"float", SL_DTYPE_F32}, {"f32", SL_DTYPE_F32},
    {"float64", SL_DTYPE_F64}, {"double", SL_DTYPE_F64}, {"f64", SL_DTYPE_F64},
    {"int32", SL_DTYPE_I32}, {"int", SL_DTYPE_I32}, {"i32", SL_DTYPE_I32},
    {"int64", SL_DTYPE_I64}, {"long", SL_DTYPE_I64}, {"i64", SL_DTYPE_I64},
    {"uint8", SL_DTYPE_U8}, {"byte", SL_DTYPE_U8}, {"u8", SL_DTYPE_U8}, {"bool", SL_DTYPE_U8},
  };
  for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
    if (strcasecmp(name, aliases[i].n) == 0) { *out = aliases[i].d; return 0; }
  return -1;
}

/* Allocation accounting.  Atomic because kernels may allocate scratch from OpenMP threads. */
static int64_t live_bytes[SL_DEV_COUNT];
static int64_t live_allocs;

void sl_account(sl_device d, int64_t delta) {
  __atomic_add_fetch(&live_bytes[d], delta, __ATOMIC_RELAXED);
}

void *sl_alloc(size_t nbytes) {
  void *p = NULL;
  /* 64-byte alignment suits AVX-512 loads and cache lines; never pass 0 to posix_memalign. */
  if (posix_memalign(&p, 64, nbytes ? nbytes : 64) != 0) return NULL;
  sl_account(SL_DEV_CPU, (int64_t)nbytes);
  __atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
  return p;
}

void *sl_alloc_zeroed(size_t nbytes) {
  void *p = sl_alloc(nbytes);
  if (p) memset(p, 0, nbytes);
  return p;
}

void sl_free(void *p, size_t nbytes) {
  if (!p) return;
  free(p);
  sl_account(SL_DEV_CPU, -(int64_t)nbytes);
  __atomic_sub_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
}

int64_t sl_live_bytes(sl_device d) { return __atomic_load_n(&live_bytes[d], __ATOMIC_RELAXED); }

static int64_t live_tensor_count;
int64_t sl_live_tensors(void) { return __atomic_load_n(&live_tensor_count, __ATOMIC_RELAXED); }
/* Used by tensor.c only. */
void sl__tensor_count(int delta) { __atomic_add_fetch(&live_tensor_count, delta, __ATOMIC_RELAXED); }

int sl_num_threads(void) { return omp_get_max_threads(); }
void sl_set_num_threads(int n) { if (n > 0) omp_set_num_threads(n); }

char *sl_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
  size_t n = 0;
  n += snprintf(buf + n, cap - n, "[");
  for (int i = 0; i < ndim && n < cap; i++)
    n += snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)shape[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
  return buf;
}
