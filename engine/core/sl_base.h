/* sl_base.h — status codes, error reporting, dtypes, devices and the tracked allocator.
 *
 * Every core function returns an sl_status.  On failure it records a human-readable message
 * (what went wrong and why, e.g. "add: shapes [2,3] and [4] cannot be broadcast") plus the C
 * source location in thread-local storage; the Lua binding turns that into a Lua error.  The
 * core never exits and never longjmps.  SL_ASSERT is reserved for broken internal invariants. */
#ifndef SL_BASE_H
#define SL_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SL_MAX_DIMS 8
#define SL_VERSION "0.1.0"

typedef enum {
  SL_OK = 0,
  SL_ERR_ARG,       /* bad argument value (negative size, bad dim, unknown name) */
  SL_ERR_SHAPE,     /* shapes incompatible */
  SL_ERR_DTYPE,     /* dtype not supported by this op */
  SL_ERR_OOM,       /* allocation failed */
  SL_ERR_IO,        /* file / HDF5 problem */
  SL_ERR_DEVICE,    /* device mismatch or backend failure */
  SL_ERR_NOT_IMPL,  /* op not available for this device/dtype */
  SL_ERR_INTERNAL
} sl_status;

typedef enum { SL_DTYPE_F32 = 0, SL_DTYPE_F64, SL_DTYPE_I32, SL_DTYPE_I64, SL_DTYPE_U8, SL_DTYPE_COUNT } sl_dtype;
typedef enum { SL_DEV_CPU = 0, SL_DEV_CUDA = 1, SL_DEV_COUNT } sl_device;

/* ---- errors ---- */
sl_status sl_error_set(sl_status st, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Record an error and return its status: `return SL_ERR(SL_ERR_SHAPE, "matmul: %s vs %s", a, b);` */
#define SL_ERR(st, ...) sl_error_set((st), __FILE__, __LINE__, __VA_ARGS__)
/* Propagate a failing status unchanged (message already set by the callee). */
#define SL_TRY(expr) do { sl_status sl__st = (expr); if (sl__st != SL_OK) return sl__st; } while (0)
const char *sl_error_message(void);   /* message of the last error on this thread */
const char *sl_error_location(void);  /* "file.c:123" of the last error on this thread */
sl_status   sl_error_status(void);
void        sl_error_clear(void);
const char *sl_status_name(sl_status st);

#define SL_ASSERT(cond) do { if (!(cond)) { \
  fprintf(stderr, "spinlock: internal invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
  abort(); } } while (0)

/* ---- dtypes ---- */
size_t      sl_dtype_size(sl_dtype dt);
const char *sl_dtype_name(sl_dtype dt);            /* "float32", "float64", "int32", "int64", "uint8" */
int         sl_dtype_from_name(const char *name, sl_dtype *out); /* accepts torch aliases; 0 = ok */
int         sl_dtype_is_float(sl_dtype dt);
const char *sl_device_name(sl_device d);

/* ---- tracked allocator (64-byte aligned); counts live bytes per device ---- */
void   *sl_alloc(size_t nbytes);          /* NULL on failure (no message set) */
void   *sl_alloc_zeroed(size_t nbytes);
void    sl_free(void *p, size_t nbytes);
int64_t sl_live_bytes(sl_device d);
int64_t sl_live_tensors(void);
void    sl_account(sl_device d, int64_t delta_bytes);   /* used by backends' own allocators */

/* ---- threads ---- */
int  sl_num_threads(void);               /* threads used by OpenMP kernels */
void sl_set_num_threads(int n);

/* Formats a shape as "[2,3,4]" into buf (returns buf). */
char *sl_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);

#endif
