/* sl_backend.h — device backends and the op slot table (STYLE.md §5).
 *
 * The CPU is always present and is not a plugin: CPU kernels are called directly by the op
 * dispatchers (`sl_op_<op>` → `sl_cpu_<op>`).  Every other device is a *backend*: a table of
 * function pointers (memory, copies, synchronisation) plus a list of named op slots
 * {name, fn, supports}.  The CUDA backend lives in a plugin, build/libspinlock_cuda.so, that
 * the binary dlopen()s at start-up, so the main binary has no link-time dependency on CUDA and
 * still starts on machines without the CUDA libraries.  Any failure while probing — the plugin
 * is missing, dlopen fails, cudaGetDeviceCount returns an error (35 without a driver, 100 with
 * a driver but no GPU), zero devices — means "CPU only", and the reason is recorded for
 * `sl.backend_info()`.
 *
 * Ops are looked up by name rather than by a global enum so that adding a CUDA kernel touches
 * only engine/cuda/ (the plugin lists its slots) and the op's dispatcher; nothing central has
 * to be edited by everyone.  A dispatcher looks like:
 *
 *   typedef sl_status (*add_fn)(sl_tensor **, const sl_tensor *, const sl_tensor *);
 *   sl_status sl_op_add(sl_tensor **out, const sl_tensor *a, const sl_tensor *b) {
 *     const sl_tensor *args[] = { a, b };
 *     const sl_backend_op *op;
 *     sl_device dev;
 *     SL_TRY(sl_backend_resolve("add", 2, args, &dev, &op));
 *     if (dev == SL_DEV_CPU) return sl_cpu_add(out, a, b);
 *     return ((add_fn)op->fn)(out, a, b);
 *   }
 *
 * sl_backend_resolve refuses mixed devices and ops a backend lacks (or whose `supports`
 * declines the arguments) with a message naming the op, so callers never see a NULL slot.
 *
 * Plugin ABI.  The plugin exports one C symbol, SL_BACKEND_PLUGIN_INIT ("sl_backend_plugin_init"),
 * of type sl_backend_plugin_init_fn.  It is linked with -Wl,-z,defs and so cannot call back into
 * the binary by symbol; everything it needs from the host comes through sl_host_api.  Bump
 * SL_BACKEND_ABI whenever either struct changes layout; the loader rejects a mismatch. */
#ifndef SL_BACKEND_H
#define SL_BACKEND_H

#include "sl_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SL_BACKEND_ABI 2
#define SL_BACKEND_PLUGIN_INIT "sl_backend_plugin_init"
#define SL_CUDA_PLUGIN_NAME "libspinlock_cuda.so"

/* One op implemented by a backend.  fn is cast by the op's dispatcher to the op's own
 * signature (the same as its sl_cpu_<op> kernel).  supports may be NULL (= all arguments);
 * otherwise it returns nonzero when the backend handles these arguments (dtype, layout...). */
typedef void (*sl_backend_fn)(void);
typedef struct sl_backend_op {
  const char    *name;
  sl_backend_fn  fn;
  int          (*supports)(int nargs, const sl_tensor *const *args);
} sl_backend_op;

typedef struct sl_backend {
  int          abi;                /* SL_BACKEND_ABI */
  const char  *name;               /* "cuda" */
  sl_device    device;             /* SL_DEV_CUDA */
  int          (*device_count)(void);
  /* Human-readable name of device i ("NVIDIA H200"); buf is always NUL-terminated. */
  void         (*device_name)(int i, char *buf, size_t cap);
  /* Device memory; both keep the host's per-device byte counter (sl_live_bytes) current. */
  sl_status    (*alloc)(void **out, size_t nbytes);   /* message set on failure */
  void         (*free)(void *p, size_t nbytes);
  sl_status    (*memcpy_h2d)(void *dst, const void *src, size_t nbytes);
  sl_status    (*memcpy_d2h)(void *dst, const void *src, size_t nbytes);
  sl_status    (*memcpy_d2d)(void *dst, const void *src, size_t nbytes);
  sl_status    (*synchronize)(void);
  sl_status    (*memset_zero)(void *dst, size_t nbytes);
  /* Caching allocator: bytes held by live tensors and bytes parked in the cache for reuse. */
  void         (*memory_stats)(int64_t *in_use, int64_t *cached);
  void         (*empty_cache)(void);   /* returns cached blocks to the driver */
  const sl_backend_op *ops;        /* terminated by an entry with name == NULL */
} sl_backend;

/* What the binary lends the plugin (the plugin cannot link against the binary). */
typedef struct sl_host_api {
  int          abi;                /* SL_BACKEND_ABI */
  sl_status  (*error_set)(sl_status st, const char *file, int line, const char *fmt, ...)
      __attribute__((format(printf, 4, 5)));
  void       (*account)(sl_device d, int64_t delta_bytes);
  int64_t    (*tensor_numel)(const sl_tensor *t);
  int        (*tensor_is_contiguous)(const sl_tensor *t);
  void      *(*tensor_data)(const sl_tensor *t);
  /* Output tensors: sl_tensor_empty_on / sl_tensor_release (the plugin creates device results). */
  sl_status  (*tensor_empty_on)(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, sl_device dev);
  void       (*tensor_release)(sl_tensor *t);
} sl_host_api;

/* Fills *be and returns SL_OK when the backend is usable (at least one device).  On any failure
 * it returns a non-OK status after host->error_set(...) with the reason, and the host falls
 * back to the CPU. */
typedef sl_status (*sl_backend_plugin_init_fn)(const sl_host_api *host, sl_backend *be);

/* ---- host side ---- */

/* Probes the optional backends once (later calls return at once).  Never fails: a backend that
 * cannot be used is recorded with its reason.  Honours SPINLOCK_CUDA=0 (skip the probe) and
 * SPINLOCK_CUDA_PLUGIN=/path/to/libspinlock_cuda.so (load that file instead of searching next
 * to the executable and in ../lib/spinlock/). */
void sl_backend_load(void);

typedef struct sl_backend_status {
  int  cuda_available;   /* 1 when the CUDA backend is loaded and has devices */
  int  devices;          /* CUDA device count (0 when unavailable) */
  char reason[512];      /* why CUDA is unavailable; "" when available */
  char plugin[4096];     /* plugin path that was loaded or tried; "" when none was found */
} sl_backend_status;
const sl_backend_status *sl_backend_get_status(void);

/* The backend for a device, or NULL when the device is unavailable (the CPU has no entry:
 * CPU memory goes through sl_alloc). */
const sl_backend *sl_backend_get(sl_device dev);

/* The op slot `name` of device dev's backend, or NULL. */
const sl_backend_op *sl_backend_find_op(sl_device dev, const char *name);

/* Finds the device of args (NULL entries are skipped), checks they all share it, and for a
 * non-CPU device returns the backend op `name` in *op (checked against its `supports`).
 * Errors: SL_ERR_DEVICE on mixed devices, SL_ERR_NOT_IMPL when the backend lacks the op. */
sl_status sl_backend_resolve(const char *name, int nargs, const sl_tensor *const *args,
                             sl_device *dev, const sl_backend_op **op);

#ifdef __cplusplus
}
#endif

#endif
