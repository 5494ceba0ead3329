/* backend.c — probes the optional CUDA plugin and resolves op slots (see sl_backend.h).
 *
 * The probe runs once (pthread_once) and never fails: every way CUDA can be unusable ends in
 * "CPU only" with a one-line reason.  The plugin is opened RTLD_NOW (unresolved symbols show up
 * here, not at the first kernel launch) and RTLD_LOCAL (its cudart copy and helper symbols stay
 * private).  A plugin whose init fails is dlclose()d again. */
#define _GNU_SOURCE
#include "sl_backend.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static sl_backend_status g_status;
static sl_backend g_cuda;          /* filled by the plugin; valid when g_status.cuda_available */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static const sl_host_api g_host = {
  .abi = SL_BACKEND_ABI,
  .error_set = sl_error_set,
  .account = sl_account,
  .tensor_numel = sl_tensor_numel,
  .tensor_is_contiguous = sl_tensor_is_contiguous,
  .tensor_data = sl_tensor_data,
  .tensor_empty_on = sl_tensor_empty_on,
  .tensor_release = sl_tensor_release,
};

static void set_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_reason(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_status.reason, sizeof g_status.reason, fmt, ap);
  va_end(ap);
}

/* Directory of the running executable, without the trailing slash; "" if unknown. */
static void exe_dir(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0) { buf[0] = 0; return; }
  buf[n] = 0;
  char *slash = strrchr(buf, '/');
  if (slash) *slash = 0; else buf[0] = 0;
}

/* First existing candidate path for the plugin, or 0 when none exists (then `looked` lists
 * where we searched). */
static int find_plugin(char *out, size_t cap, char *looked, size_t lcap) {
  char dir[PATH_MAX];
  exe_dir(dir, sizeof dir);
  const char *fmts[] = { "%s/" SL_CUDA_PLUGIN_NAME, "%s/../lib/spinlock/" SL_CUDA_PLUGIN_NAME };
  looked[0] = 0;
  for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
    snprintf(out, cap, fmts[i], dir);
    if (access(out, R_OK) == 0) {
      char real[PATH_MAX];
      if (realpath(out, real)) snprintf(out, cap, "%s", real);   /* "bin/../lib" → "lib" */
      return 1;
    }
    size_t used = strlen(looked);
    snprintf(looked + used, lcap - used, "%s%s", used ? ", " : "", out);
  }
  out[0] = 0;
  return 0;
}

static void probe(void) {
  g_status.cuda_available = 0;
  g_status.devices = 0;
  const char *env = getenv("SPINLOCK_CUDA");
  if (env && strcmp(env, "0") == 0) { set_reason("CUDA disabled by SPINLOCK_CUDA=0"); return; }

  const char *path = getenv("SPINLOCK_CUDA_PLUGIN");
  if (path && *path) {
    snprintf(g_status.plugin, sizeof g_status.plugin, "%s", path);
  } else {
    char looked[2 * PATH_MAX + 8];
    if (!find_plugin(g_status.plugin, sizeof g_status.plugin, looked, sizeof looked)) {
      set_reason("CUDA plugin not built or not installed (looked for %s)", looked);
      return;
    }
  }

  dlerror();
  void *h = dlopen(g_status.plugin, RTLD_NOW | RTLD_LOCAL);
  if (!h) { set_reason("cannot load the CUDA plugin: %s", dlerror()); return; }

  /* POSIX allows converting dlsym's void* to a function pointer; go through a union to keep
   * -Wpedantic quiet. */
  union { void *p; sl_backend_plugin_init_fn fn; } init;
  init.p = dlsym(h, SL_BACKEND_PLUGIN_INIT);
  if (!init.p) {
    set_reason("the CUDA plugin does not export %s", SL_BACKEND_PLUGIN_INIT);
    dlclose(h);
    return;
  }

  sl_backend be;
  memset(&be, 0, sizeof be);
  sl_error_clear();
  sl_status st = init.fn(&g_host, &be);
  if (st == SL_OK && be.abi != SL_BACKEND_ABI) {
    set_reason("the CUDA plugin was built for backend ABI %d, this binary uses %d", be.abi, SL_BACKEND_ABI);
    dlclose(h);
    return;
  }
  if (st != SL_OK) {
    const char *msg = sl_error_message();
    set_reason("%s", (msg && *msg) ? msg : sl_status_name(st));
    sl_error_clear();
    dlclose(h);
    return;
  }
  int n = be.device_count ? be.device_count() : 0;
  if (n <= 0) { set_reason("the CUDA plugin loaded but reports no CUDA device"); dlclose(h); return; }

  /* The handle is kept open for the life of the process: kernels and allocations point into it. */
  g_cuda = be;
  g_status.devices = n;
  g_status.cuda_available = 1;
  g_status.reason[0] = 0;
}

void sl_backend_load(void) { pthread_once(&g_once, probe); }

const sl_backend_status *sl_backend_get_status(void) {
  sl_backend_load();
  return &g_status;
}

const sl_backend *sl_backend_get(sl_device dev) {
  sl_backend_load();
  if (dev == SL_DEV_CUDA && g_status.cuda_available) return &g_cuda;
  return NULL;
}

const sl_backend_op *sl_backend_find_op(sl_device dev, const char *name) {
  const sl_backend *be = sl_backend_get(dev);
  if (!be || !be->ops) return NULL;
  /* Linear scan: backends hold tens of ops and a strcmp miss costs a few ns, far below the
   * cost of any kernel launch. */
  for (const sl_backend_op *op = be->ops; op->name; op++)
    if (strcmp(op->name, name) == 0) return op;
  return NULL;
}

sl_status sl_backend_resolve(const char *name, int nargs, const sl_tensor *const *args,
                             sl_device *dev, const sl_backend_op **op) {
  int first = -1;
  *op = NULL;
  *dev = SL_DEV_CPU;
  for (int i = 0; i < nargs; i++) {
    if (!args[i]) continue;
    sl_device d = sl_tensor_device(args[i]);
    if (first < 0) { first = i; *dev = d; continue; }
    if (d != *dev)
      return SL_ERR(SL_ERR_DEVICE, "%s: argument %d is on %s but argument %d is on %s; move them "
                    "to one device first", name, first + 1, sl_device_name(*dev), i + 1, sl_device_name(d));
  }
  if (*dev == SL_DEV_CPU) return SL_OK;
  if (!sl_backend_get(*dev))
    return SL_ERR(SL_ERR_DEVICE, "%s: tensors are on %s but that backend is not available (%s)",
                  name, sl_device_name(*dev), g_status.reason);
  const sl_backend_op *o = sl_backend_find_op(*dev, name);
  if (!o) return SL_ERR(SL_ERR_NOT_IMPL, "%s: not implemented on %s", name, sl_device_name(*dev));
  if (o->supports && !o->supports(nargs, args))
    return SL_ERR(SL_ERR_NOT_IMPL, "%s: the %s kernel does not support these arguments "
                  "(dtype or layout); move them to the CPU", name, sl_device_name(*dev));
  *op = o;
  return SL_OK;
}
