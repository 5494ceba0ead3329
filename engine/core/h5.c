/* h5.c — HDF5 files for datasets, features and checkpoints (see sl_h5.h for the API).
 *
 * Design notes
 *  - Compatibility target is h5py: strings are always variable-length with the UTF-8 character set
 *    (fixed-length ones come back as bytes in h5py); float16 storage uses a 16-bit IEEE type built
 *    from float32 (HDF5 1.10 has no predefined half type); h5py maps it to numpy float16.
 *  - Half conversion is done here (the compiler's _Float16, vectorised with F16C, or a portable
 *    bit-level version): HDF5's generic soft conversion is slow and rounds wrongly near the top of
 *    the range.  Only 16-bit float types other than ours (another byte order) go through HDF5.
 *  - Nothing is cached: every call opens the objects it needs by path and closes them before
 *    returning, so the file handle is the only state and errors can never leak HDF5 ids.
 *  - HDF5's error stack is captured right after the failing call (cleanup calls would reset it) and
 *    folded into our message "<file>: <path>: <what> (hdf5: ...)".
 *  - Files are created with the 1.8 object-header format as the lower bound so that attributes
 *    larger than 64 KiB (long name lists) can be stored; h5py reads it like any other file. */
#include "sl_h5.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

struct sl_h5_file {
  hid_t id;
  char *filename;
  char  mode[3];
  int   writable;
};

#define PATH_CAP 1024

/* ------------------------------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------------------------------- */

/* HDF5 keeps its error-printing setting per thread in a thread-safe build. */
static void h5_quiet(void) {
  static _Thread_local int done;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
  }
}

typedef struct {
  char text[400];
  bool lock;  /* some frame says the file lock could not be taken */
  bool any;
} h5_cause;

/* Walked upwards, frame 0 is the innermost: the most specific description. */
static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  h5_cause *c = data;
  if (e->desc && strstr(e->desc, "unable to lock file")) c->lock = true;
  if (n == 0) {
    char maj[96] = "", min[96] = "";
    H5Eget_msg(e->maj_num, NULL, maj, sizeof maj);
    H5Eget_msg(e->min_num, NULL, min, sizeof min);
    snprintf(c->text, sizeof c->text, "hdf5: %s [%s/%s]", e->desc ? e->desc : "?", maj, min);
    c->any = true;
  }
  return 0;
}

static void h5_capture(h5_cause *c) {
  memset(c, 0, sizeof *c);
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, c);
  H5Eclear2(H5E_DEFAULT);
}

/* Formats "<file>: <path>: <what>[ (<cause>)]" and records it.  with_cause = HDF5 failed. */
static sl_status h5_fail_at(const char *srcfile, int line, sl_status st, bool with_cause,
                            const char *filename, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static sl_status h5_fail_at(const char *srcfile, int line, sl_status st, bool with_cause,
                            const char *filename, const char *path, const char *fmt, ...) {
  h5_cause c = {0};
  if (with_cause) h5_capture(&c);
  char what[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (c.lock)
    return sl_error_set(st, srcfile, line,
                        "%s: %s: %s: another process has the file open (HDF5 file lock); close it "
                        "there first, or set HDF5_USE_FILE_LOCKING=FALSE if that is safe (%s)",
                        filename, path ? path : "/", what, c.text);
  if (c.any)
    return sl_error_set(st, srcfile, line, "%s: %s: %s (%s)", filename, path ? path : "/", what, c.text);
  return sl_error_set(st, srcfile, line, "%s: %s: %s", filename, path ? path : "/", what);
}

/* HFAIL: an HDF5 call failed.  HERR: our own check failed (no HDF5 cause). */
#define HFAIL(f, path, ...) h5_fail_at(__FILE__, __LINE__, SL_ERR_IO, true, (f)->filename, (path), __VA_ARGS__)
#define HERR(st, f, path, ...) h5_fail_at(__FILE__, __LINE__, (st), false, (f)->filename, (path), __VA_ARGS__)

static void close_id(hid_t *id) {
  if (*id < 0) return;
  switch (H5Iget_type(*id)) {
    case H5I_FILE: H5Fclose(*id); break;
    case H5I_GROUP: H5Gclose(*id); break;
    case H5I_DATASET: H5Dclose(*id); break;
    case H5I_DATATYPE: H5Tclose(*id); break;
    case H5I_DATASPACE: H5Sclose(*id); break;
    case H5I_ATTR: H5Aclose(*id); break;
    case H5I_GENPROP_LST: H5Pclose(*id); break;
    default: H5Idec_ref(*id); break;
  }
  *id = -1;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* ------------------------------------------------------------------------------------------------
 * Types
 * ---------------------------------------------------------------------------------------------- */

static const char *const dtype_names[SL_H5_DTYPE_COUNT] = {
    "float32", "float64", "int32", "int64", "uint8", "float16", "string"};

const char *sl_h5_dtype_name(sl_h5_dtype dt) {
  return (unsigned)dt < SL_H5_DTYPE_COUNT ? dtype_names[dt] : "?";
}

int sl_h5_dtype_from_name(const char *name, sl_h5_dtype *out) {
  if (!name) return -1;
  if (!strcmp(name, "float16") || !strcmp(name, "f16") || !strcmp(name, "half")) {
    *out = SL_H5_FLOAT16;
    return 0;
  }
  if (!strcmp(name, "string") || !strcmp(name, "str")) {
    *out = SL_H5_STRING;
    return 0;
  }
  sl_dtype dt;
  if (sl_dtype_from_name(name, &dt) != 0) return -1;
  static const sl_h5_dtype map[SL_DTYPE_COUNT] = {SL_H5_FLOAT32, SL_H5_FLOAT64, SL_H5_INT32,
                                                  SL_H5_INT64, SL_H5_UINT8};
  *out = map[dt];
  return 0;
}

/* A little-endian IEEE half: sign bit 15, exponent bits 10..14 (bias 15), mantissa bits 0..9. */
static hid_t f16_type(void) {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  if (t < 0) return -1;
  if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

static hid_t vlen_str_type(H5T_cset_t cset) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return -1;
  if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, cset) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

/* File type for a new dataset/attribute (caller closes). */
static hid_t file_type(sl_h5_dtype dt) {
  switch (dt) {
    case SL_H5_FLOAT32: return H5Tcopy(H5T_IEEE_F32LE);
    case SL_H5_FLOAT64: return H5Tcopy(H5T_IEEE_F64LE);
    case SL_H5_INT32: return H5Tcopy(H5T_STD_I32LE);
    case SL_H5_INT64: return H5Tcopy(H5T_STD_I64LE);
    case SL_H5_UINT8: return H5Tcopy(H5T_STD_U8LE);
    case SL_H5_FLOAT16: return f16_type();
    case SL_H5_STRING: return vlen_str_type(H5T_CSET_UTF8);
    default: return -1;
  }
}

/* Memory type of a tensor dtype (predefined: not to be closed). */
static hid_t mem_type(sl_dtype dt) {
  switch (dt) {
    case SL_DTYPE_F32: return H5T_NATIVE_FLOAT;
    case SL_DTYPE_F64: return H5T_NATIVE_DOUBLE;
    case SL_DTYPE_I32: return H5T_NATIVE_INT32;
    case SL_DTYPE_I64: return H5T_NATIVE_INT64;
    case SL_DTYPE_U8: return H5T_NATIVE_UINT8;
    default: return -1;
  }
}

static sl_h5_dtype h5_of_tensor(sl_dtype dt) {
  static const sl_h5_dtype map[SL_DTYPE_COUNT] = {SL_H5_FLOAT32, SL_H5_FLOAT64, SL_H5_INT32,
                                                  SL_H5_INT64, SL_H5_UINT8};
  return map[dt];
}

/* Human name of any HDF5 datatype, in numpy's words where one exists. */
static void type_name(hid_t t, char *buf, size_t cap) {
  size_t size = H5Tget_size(t);
  switch (H5Tget_class(t)) {
    case H5T_INTEGER:
      snprintf(buf, cap, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", size * 8);
      break;
    case H5T_FLOAT: snprintf(buf, cap, "float%zu", size * 8); break;
    case H5T_STRING: snprintf(buf, cap, "%s", H5Tis_variable_str(t) > 0 ? "string" : "fixed_string"); break;
    case H5T_COMPOUND: snprintf(buf, cap, "compound"); break;
    case H5T_ENUM: snprintf(buf, cap, "enum"); break;
    case H5T_VLEN: snprintf(buf, cap, "vlen"); break;
    case H5T_ARRAY: snprintf(buf, cap, "array"); break;
    case H5T_OPAQUE: snprintf(buf, cap, "opaque"); break;
    case H5T_REFERENCE: snprintf(buf, cap, "reference"); break;
    case H5T_BITFIELD: snprintf(buf, cap, "bitfield"); break;
    default: snprintf(buf, cap, "unknown"); break;
  }
}

/* Tensor dtype that holds a numeric file type without loss where possible; -1 if not numeric. */
static int tensor_dtype_of(hid_t t, sl_dtype *out) {
  size_t size = H5Tget_size(t);
  switch (H5Tget_class(t)) {
    case H5T_FLOAT: *out = size <= 4 ? SL_DTYPE_F32 : SL_DTYPE_F64; return 0;
    case H5T_INTEGER:
      if (H5Tget_sign(t) == H5T_SGN_NONE) *out = size == 1 ? SL_DTYPE_U8 : size == 2 ? SL_DTYPE_I32 : SL_DTYPE_I64;
      else *out = size <= 4 ? SL_DTYPE_I32 : SL_DTYPE_I64;
      return 0;
    case H5T_ENUM: {  /* h5py's bool and other enums: their integer values */
      hid_t base = H5Tget_super(t);
      int r = base >= 0 ? tensor_dtype_of(base, out) : -1;
      if (base >= 0) H5Tclose(base);
      return r;
    }
    default: return -1;
  }
}

/* HDF5 converts enums only to other enums: read the native enum, then widen its base integers
 * into dst (contiguous, n elements).  obj is a dataset (with mspace/fspace) or an attribute. */
static herr_t read_enum(hid_t obj, bool is_attr, hid_t ftype, hid_t mspace, hid_t fspace, sl_tensor *dst, int64_t n) {
  hid_t mt = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
  if (mt < 0) return -1;
  size_t size = H5Tget_size(mt);
  hid_t base = H5Tget_super(mt);
  bool sgn = base >= 0 && H5Tget_sign(base) != H5T_SGN_NONE;
  if (base >= 0) H5Tclose(base);
  unsigned char *buf = malloc((size_t)n * size);
  herr_t r = -1;
  if (buf && (size == 1 || size == 2 || size == 4 || size == 8))
    r = is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, mspace, fspace, H5P_DEFAULT, buf);
  for (int64_t i = 0; r >= 0 && i < n; i++) {
    const unsigned char *e = buf + (size_t)i * size;
    double v;
    if (size == 1) { uint8_t x = e[0]; v = sgn ? (double)(int8_t)x : x; }
    else if (size == 2) { uint16_t x; memcpy(&x, e, 2); v = sgn ? (double)(int16_t)x : x; }
    else if (size == 4) { uint32_t x; memcpy(&x, e, 4); v = sgn ? (double)(int32_t)x : x; }
    else { uint64_t x; memcpy(&x, e, 8); v = sgn ? (double)(int64_t)x : (double)x; }
    sl_store_f64(sl_tensor_data(dst), dst->dtype, i, v);
  }
  free(buf);
  H5Tclose(mt);
  return r;
}

/* Is t exactly our half type?  Then the fast conversion applies. */
static bool is_f16(hid_t t) {
  if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 2) return false;
  hid_t h = f16_type();
  bool eq = h >= 0 && H5Tequal(t, h) > 0;
  if (h >= 0) H5Tclose(h);
  return eq;
}

/* float32 <-> IEEE half, rounding to nearest even.  HDF5's soft conversion is not an option: it
 * is slow and, in 1.10.8, maps 65520 to 32768 instead of infinity. */
#ifdef __FLT16_MANT_DIG__
static void f32_to_f16(uint16_t *dst, const float *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    _Float16 h = (_Float16)src[i];
    memcpy(&dst[i], &h, 2);
  }
}
static void f16_to_f32(float *dst, const uint16_t *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    _Float16 h;
    memcpy(&h, &src[i], 2);
    dst[i] = (float)h;
  }
}
#else
/* Portable bit-level version for compilers without _Float16. */
static void f32_to_f16(uint16_t *dst, const float *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t x;
    memcpy(&x, &src[i], 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffff, h;
    if (ax > 0x7f800000) h = 0x7e00 | ((ax >> 13) & 0x3ff);             /* NaN stays NaN */
    else if (ax >= 0x477ff000) h = 0x7c00;                                /* >= 65520 and inf */
    else if (ax >= 0x38800000) {                                          /* normal half */
      h = (ax - 0x38000000) >> 13;                                        /* rebias 127 -> 15 */
      uint32_t rem = ax & 0x1fff;
      if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;               /* carries into the exponent */
    } else if (ax < 0x33000000) h = 0;                                    /* <= 2^-25 (the tie goes to 0) */
    else {                                                                /* subnormal: units of 2^-24 */
      uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000, shift = 126 - e;
      uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
      h = m >> shift;
      if (rem > halfway || (rem == halfway && (h & 1))) h++;
    }
    dst[i] = (uint16_t)(sign | h);
  }
}
static void f16_to_f32(float *dst, const uint16_t *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t h = src[i], sign = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0x1f) x = sign | 0x7f800000 | (m << 13);
    else if (e) x = sign | ((e + 112) << 23) | (m << 13);
    else {
      float v = (float)m * 5.9604644775390625e-08f;  /* m * 2^-24, exact */
      dst[i] = sign ? -v : v;
      continue;
    }
    memcpy(&dst[i], &x, 4);
  }
}
#endif

/* ------------------------------------------------------------------------------------------------
 * Paths
 * ---------------------------------------------------------------------------------------------- */

/* "a//b/" → "/a/b"; "" → "/".  Returns 0, or -1 when too long. */
static int norm_path(const char *in, char *out) {
  size_t n = 0;
  out[n++] = '/';
  for (const char *p = in ? in : ""; *p; p++) {
    if (*p == '/' && out[n - 1] == '/') continue;
    if (n + 1 >= PATH_CAP) return -1;
    out[n++] = *p;
  }
  if (n > 1 && out[n - 1] == '/') n--;
  out[n] = '\0';
  return 0;
}

/* Start of every public call taking a path: quiet HDF5 on this thread, normalise the path. */
#define NORM(f, np, path)                                                              \
  h5_quiet();                                                                         \
  char np[PATH_CAP];                                                                  \
  if (norm_path((path), np) != 0)                                                      \
    return HERR(SL_ERR_ARG, (f), "(path too long)", "path is longer than %d bytes", PATH_CAP - 2)

/* Does every link along np resolve?  HDF5 errors if a prefix is missing, so walk it. */
static bool path_exists(hid_t fid, const char *np) {
  if (!strcmp(np, "/")) return true;
  char buf[PATH_CAP];
  strcpy(buf, np);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      htri_t e = H5Lexists(fid, buf, H5P_DEFAULT);
      if (e > 0) e = H5Oexists_by_name(fid, buf, H5P_DEFAULT);  /* dangling soft links */
      *p = c;
      if (e <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
      if (c == '\0') return true;
    }
  }
}

/* Is there a link at np, resolving or not (dangling soft and external links count)? */
static bool link_exists(hid_t fid, const char *np) {
  if (path_exists(fid, np)) return true;
  const char *slash = strrchr(np, '/');
  char parent[PATH_CAP];
  memcpy(parent, np, (size_t)(slash - np));
  parent[slash - np] = '\0';
  htri_t e = -1;
  if (!parent[0] || path_exists(fid, parent)) e = H5Lexists(fid, np, H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return e > 0;
}

static const char *kind_word(H5I_type_t want) {
  return want == H5I_DATASET ? "dataset" : want == H5I_GROUP ? "group" : "object";
}

/* Opens the object at np; want = H5I_DATASET / H5I_GROUP / H5I_BADID (anything). */
static sl_status open_obj(sl_h5_file *f, const char *np, H5I_type_t want, hid_t *out) {
  *out = -1;
  if (!f || f->id < 0) return SL_ERR(SL_ERR_ARG, "h5: the file is closed");
  h5_quiet();
  if (!path_exists(f->id, np)) return HERR(SL_ERR_ARG, f, np, "no such %s", kind_word(want));
  hid_t o = H5Oopen(f->id, np, H5P_DEFAULT);
  if (o < 0) return HFAIL(f, np, "cannot open %s", kind_word(want));
  H5I_type_t ty = H5Iget_type(o);
  if (want != H5I_BADID && ty != want) {
    close_id(&o);
    return HERR(SL_ERR_ARG, f, np, "is a %s, expected a %s", kind_word(ty), kind_word(want));
  }
  *out = o;
  return SL_OK;
}

static sl_status check_writable(sl_h5_file *f, const char *np, const char *what) {
  if (!f || f->id < 0) return SL_ERR(SL_ERR_ARG, "h5: the file is closed");
  if (!f->writable)
    return HERR(SL_ERR_IO, f, np, "cannot %s: the file is open read-only (mode '%s')", what, f->mode);
  return SL_OK;
}

/* Every existing prefix of np must be a group: HDF5's own error for "/dataset/child" is cryptic. */
static sl_status check_parents(sl_h5_file *f, const char *np) {
  char buf[PATH_CAP];
  strcpy(buf, np);
  for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (!path_exists(f->id, buf)) return SL_OK;  /* the rest will be created */
    hid_t o = H5Oopen(f->id, buf, H5P_DEFAULT);
    H5I_type_t ty = o >= 0 ? H5Iget_type(o) : H5I_BADID;
    close_id(&o);
    H5Eclear2(H5E_DEFAULT);
    if (ty != H5I_GROUP) return HERR(SL_ERR_ARG, f, np, "cannot create: %s is a %s, not a group", buf, kind_word(ty));
    *p = '/';
  }
  return SL_OK;
}

/* Link creation list that makes missing parent groups. */
static hid_t lcpl_parents(void) {
  hid_t p = H5Pcreate(H5P_LINK_CREATE);
  if (p >= 0 && H5Pset_create_intermediate_group(p, 1) < 0) close_id(&p);
  return p;
}

/* Shape as "[2,3]" from hsize_t dims. */
static char *hshape_str(char *buf, size_t cap, int n, const hsize_t *d) {
  int64_t s[SL_MAX_DIMS];
  for (int i = 0; i < n && i < SL_MAX_DIMS; i++) s[i] = (int64_t)d[i];
  return sl_shape_str(buf, cap, n, s);
}

/* ------------------------------------------------------------------------------------------------
 * Files
 * ---------------------------------------------------------------------------------------------- */

sl_status sl_h5_open(sl_h5_file **out, const char *filename, const char *mode) {
  *out = NULL;
  h5_quiet();
  if (!filename || !*filename) return SL_ERR(SL_ERR_ARG, "h5 open: empty file name");
  if (!mode) mode = "r";
  bool exists = access(filename, F_OK) == 0;
  enum { RD, RW, TRUNC, EXCL, APPEND } m;
  if (!strcmp(mode, "r")) m = RD;
  else if (!strcmp(mode, "r+")) m = RW;
  else if (!strcmp(mode, "w")) m = TRUNC;
  else if (!strcmp(mode, "x") || !strcmp(mode, "w-")) m = EXCL;
  else if (!strcmp(mode, "a")) m = APPEND;
  else return SL_ERR(SL_ERR_ARG, "%s: unknown mode '%s' (expected r, r+, w, x or a)", filename, mode);

  if ((m == RD || m == RW) && !exists)
    return SL_ERR(SL_ERR_IO, "%s: cannot open: no such file (mode '%s')", filename, mode);
  if (m == EXCL && exists)
    return SL_ERR(SL_ERR_IO, "%s: cannot create: the file already exists (mode 'x')", filename);
  if ((m == RD || m == RW || (m == APPEND && exists)) && access(filename, m == RD ? R_OK : R_OK | W_OK) != 0)
    return SL_ERR(SL_ERR_IO, "%s: cannot open (mode '%s'): %s", filename, mode, strerror(errno));

  sl_h5_file *f = calloc(1, sizeof *f);
  if (!f) return SL_ERR(SL_ERR_OOM, "h5 open: out of memory");
  f->id = -1;
  f->filename = dup_str(filename);
  if (!f->filename) {
    free(f);
    return SL_ERR(SL_ERR_OOM, "h5 open: out of memory");
  }
  snprintf(f->mode, sizeof f->mode, "%s", mode);
  f->writable = m != RD;

  /* STRONG close: H5Fclose really closes (and unlocks) the file even if an id leaked somewhere. */
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0) {
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  }
  const char *what;
  if (m == RD || m == RW || (m == APPEND && exists)) {
    what = "cannot open";
    f->id = H5Fopen(filename, m == RD ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl);
  } else {
    what = "cannot create";
    f->id = H5Fcreate(filename, m == EXCL ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  }
  sl_status st = SL_OK;
  if (f->id < 0) {
    h5_cause c;
    h5_capture(&c);  /* before any other HDF5 call resets the stack */
    if (!c.lock && exists && m != TRUNC && H5Fis_hdf5(filename) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      st = SL_ERR(SL_ERR_IO, "%s: %s (mode '%s'): not an HDF5 file", filename, what, mode);
    } else {
      if (c.lock)
        st = SL_ERR(SL_ERR_IO,
                    "%s: %s (mode '%s'): another process has the file open (HDF5 file lock); close it "
                    "there first, or set HDF5_USE_FILE_LOCKING=FALSE if that is safe (%s)",
                    filename, what, mode, c.text);
      else
        st = SL_ERR(SL_ERR_IO, "%s: %s (mode '%s') (%s)", filename, what, mode, c.text);
    }
  }
  close_id(&fapl);
  if (st != SL_OK) {
    free(f->filename);
    free(f);
    return st;
  }
  *out = f;
  return SL_OK;
}

sl_status sl_h5_close(sl_h5_file *f) {
  if (!f) return SL_OK;
  sl_status st = SL_OK;
  if (f->id >= 0) {
    h5_quiet();
    if (H5Fclose(f->id) < 0) st = HFAIL(f, "/", "cannot close the file (data may not have been written)");
  }
  free(f->filename);
  free(f);
  return st;
}

sl_status sl_h5_flush(sl_h5_file *f) {
  if (!f || f->id < 0) return SL_ERR(SL_ERR_ARG, "h5: the file is closed");
  h5_quiet();
  if (f->writable && H5Fflush(f->id, H5F_SCOPE_GLOBAL) < 0) return HFAIL(f, "/", "cannot flush");
  return SL_OK;
}

const char *sl_h5_filename(const sl_h5_file *f) { return f->filename; }
const char *sl_h5_mode(const sl_h5_file *f) { return f->mode; }
int sl_h5_writable(const sl_h5_file *f) { return f->writable; }

int sl_h5_is_hdf5(const char *filename) {
  h5_quiet();
  if (!filename || access(filename, R_OK) != 0) return 0;
  htri_t r = H5Fis_hdf5(filename);
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

/* ------------------------------------------------------------------------------------------------
 * Links
 * ---------------------------------------------------------------------------------------------- */

sl_status sl_h5_exists(sl_h5_file *f, const char *path, int *out) {
  *out = 0;
  if (!f || f->id < 0) return SL_ERR(SL_ERR_ARG, "h5: the file is closed");
  NORM(f, np, path);
  h5_quiet();
  *out = path_exists(f->id, np);
  return SL_OK;
}

sl_status sl_h5_create_group(sl_h5_file *f, const char *path) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "create a group"));
  if (path_exists(f->id, np)) {
    hid_t o;
    SL_TRY(open_obj(f, np, H5I_GROUP, &o));  /* errors if it is a dataset */
    close_id(&o);
    return SL_OK;
  }
  SL_TRY(check_parents(f, np));
  hid_t lcpl = lcpl_parents();
  hid_t g = H5Gcreate2(f->id, np, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  sl_status st = g < 0 ? HFAIL(f, np, "cannot create group") : SL_OK;
  close_id(&g);
  close_id(&lcpl);
  return st;
}

sl_status sl_h5_delete(sl_h5_file *f, const char *path) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "delete"));
  if (!strcmp(np, "/")) return HERR(SL_ERR_ARG, f, np, "cannot delete the root group");
  if (!link_exists(f->id, np)) return HERR(SL_ERR_ARG, f, np, "cannot delete: no such object");
  if (H5Ldelete(f->id, np, H5P_DEFAULT) < 0) return HFAIL(f, np, "cannot delete");
  return SL_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Dataset creation
 * ---------------------------------------------------------------------------------------------- */

/* About 64 KiB of whole rows, halving the widest trailing dims while one row exceeds 1 MiB. */
static void auto_chunks(int nd, const int64_t *shape, const int64_t *maxshape, size_t elsize, hsize_t *chunk) {
  for (int d = 0; d < nd; d++) chunk[d] = shape[d] > 0 ? (hsize_t)shape[d] : 1;
  if (nd == 0) return;
  chunk[0] = 1;
  for (;;) {
    double row = (double)elsize;
    int widest = -1;
    for (int d = 1; d < nd; d++) {
      row *= (double)chunk[d];
      if (chunk[d] > 1 && (widest < 0 || chunk[d] > chunk[widest])) widest = d;
    }
    if (row <= (1 << 20) || widest < 0) {
      hsize_t rows = (hsize_t)((64 << 10) / row);
      if (rows < 1) rows = 1;
      if (maxshape[0] != SL_H5_UNLIMITED && rows > (hsize_t)maxshape[0]) rows = maxshape[0] > 0 ? (hsize_t)maxshape[0] : 1;
      chunk[0] = rows;
      return;
    }
    chunk[widest] = (chunk[widest] + 1) / 2;
  }
}

sl_status sl_h5_create_dataset(sl_h5_file *f, const char *path, const sl_h5_dataset_opts *o) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "create a dataset"));
  int nd = o->ndim;
  if (nd < 0 || nd > SL_MAX_DIMS) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: rank %d is not in 0..%d", nd, SL_MAX_DIMS);
  if ((unsigned)o->dtype >= SL_H5_DTYPE_COUNT) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: bad dtype %d", (int)o->dtype);
  if (o->dtype == SL_H5_STRING && nd != 1) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: string datasets are 1-D, got rank %d", nd);
  if (o->gzip < 0 || o->gzip > 9) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: gzip level %d is not in 0..9", o->gzip);

  hsize_t dims[SL_MAX_DIMS], maxd[SL_MAX_DIMS], chunk[SL_MAX_DIMS];
  int64_t maxs[SL_MAX_DIMS];
  bool need_chunks = o->gzip > 0 || o->shuffle, have_chunks = false;
  char sbuf[96];
  for (int d = 0; d < nd; d++) {
    if (o->shape[d] < 0) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: negative size in shape %s", sl_shape_str(sbuf, sizeof sbuf, nd, o->shape));
    dims[d] = (hsize_t)o->shape[d];
    maxs[d] = o->maxshape[d] == 0 ? o->shape[d] : o->maxshape[d];
    if (maxs[d] == SL_H5_UNLIMITED) {
      maxd[d] = H5S_UNLIMITED;
      need_chunks = true;
    } else if (maxs[d] < o->shape[d]) {
      char mbuf[96];
      return HERR(SL_ERR_ARG, f, np, "cannot create dataset: maxshape %s is smaller than shape %s",
                  sl_shape_str(mbuf, sizeof mbuf, nd, o->maxshape), sl_shape_str(sbuf, sizeof sbuf, nd, o->shape));
    } else {
      maxd[d] = (hsize_t)maxs[d];
      if (maxs[d] > o->shape[d]) need_chunks = true;
    }
    if (o->chunks[d] < 0) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: negative chunk size");
    if (o->chunks[d] > 0) have_chunks = true;
  }
  if (nd == 0 && (need_chunks || have_chunks)) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: a scalar dataset cannot be chunked or compressed");
  if (have_chunks) {
    for (int d = 0; d < nd; d++) {
      if (o->chunks[d] <= 0) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: chunk shape %s has a zero entry", sl_shape_str(sbuf, sizeof sbuf, nd, o->chunks));
      if (maxs[d] != SL_H5_UNLIMITED && o->chunks[d] > maxs[d])
        return HERR(SL_ERR_ARG, f, np, "cannot create dataset: chunk shape %s exceeds the fixed size %lld of dim %d",
                    sl_shape_str(sbuf, sizeof sbuf, nd, o->chunks), (long long)maxs[d], d + 1);
      chunk[d] = (hsize_t)o->chunks[d];
    }
  } else if (need_chunks) {
    for (int d = 0; d < nd; d++)
      if (maxs[d] == 0) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: dim %d has fixed size 0, so it cannot be chunked (needed for compression or growth)", d + 1);
    size_t elsize = o->dtype == SL_H5_STRING ? 16 : o->dtype == SL_H5_FLOAT16 ? 2 : sl_dtype_size((sl_dtype)o->dtype);
    auto_chunks(nd, o->shape, maxs, elsize, chunk);
  }
  if (path_exists(f->id, np)) return HERR(SL_ERR_ARG, f, np, "cannot create dataset: the path already exists (delete it first)");
  SL_TRY(check_parents(f, np));

  sl_status st = SL_OK;
  hid_t type = file_type(o->dtype), space = -1, dcpl = -1, lcpl = -1, ds = -1;
  if (type < 0) { st = HFAIL(f, np, "cannot make the %s type", sl_h5_dtype_name(o->dtype)); goto done; }
  space = nd == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(nd, dims, maxd);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  lcpl = lcpl_parents();
  if (space < 0 || dcpl < 0 || lcpl < 0) { st = HFAIL(f, np, "cannot create dataset"); goto done; }
  if (have_chunks || need_chunks) {
    if (H5Pset_chunk(dcpl, nd, chunk) < 0) { st = HFAIL(f, np, "cannot set chunk shape %s", hshape_str(sbuf, sizeof sbuf, nd, chunk)); goto done; }
    if (o->shuffle && H5Pset_shuffle(dcpl) < 0) { st = HFAIL(f, np, "cannot enable shuffle"); goto done; }
    if (o->gzip > 0 && H5Pset_deflate(dcpl, (unsigned)o->gzip) < 0) { st = HFAIL(f, np, "cannot enable gzip"); goto done; }
  }
  ds = H5Dcreate2(f->id, np, type, space, lcpl, dcpl, H5P_DEFAULT);
  if (ds < 0) st = HFAIL(f, np, "cannot create dataset");
done:
  close_id(&ds);
  close_id(&lcpl);
  close_id(&dcpl);
  close_id(&space);
  close_id(&type);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Dataset I/O
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
  hid_t   ds, type, space;
  int     nd;
  hsize_t dims[SL_MAX_DIMS], maxd[SL_MAX_DIMS];
} dset;

static void dset_close(dset *d) {
  close_id(&d->space);
  close_id(&d->type);
  close_id(&d->ds);
}

static sl_status dset_open(sl_h5_file *f, const char *np, dset *d) {
  d->ds = d->type = d->space = -1;
  SL_TRY(open_obj(f, np, H5I_DATASET, &d->ds));
  d->type = H5Dget_type(d->ds);
  d->space = H5Dget_space(d->ds);
  if (d->type < 0 || d->space < 0) {
    sl_status st = HFAIL(f, np, "cannot query dataset");
    dset_close(d);
    return st;
  }
  d->nd = H5Sget_simple_extent_ndims(d->space);
  if (d->nd < 0 || d->nd > SL_MAX_DIMS) {
    sl_status st = d->nd < 0 ? HFAIL(f, np, "cannot query dataset shape")
                             : HERR(SL_ERR_NOT_IMPL, f, np, "dataset rank %d exceeds %d", d->nd, SL_MAX_DIMS);
    dset_close(d);
    return st;
  }
  H5Sget_simple_extent_dims(d->space, d->dims, d->maxd);
  return SL_OK;
}

/* Grows dim 0 to at least rows (re-reads the extent). */
static sl_status dset_grow(sl_h5_file *f, const char *np, dset *d, hsize_t rows) {
  if (rows <= d->dims[0]) return SL_OK;
  char sbuf[96];
  if (d->maxd[0] != H5S_UNLIMITED && rows > d->maxd[0])
    return HERR(SL_ERR_SHAPE, f, np, "dim 1 cannot grow to %llu: dataset shape is %s and it is not extendable that far (max %llu)",
                (unsigned long long)rows, hshape_str(sbuf, sizeof sbuf, d->nd, d->dims), (unsigned long long)d->maxd[0]);
  hsize_t nd[SL_MAX_DIMS];
  memcpy(nd, d->dims, sizeof nd);
  nd[0] = rows;
  if (H5Dset_extent(d->ds, nd) < 0) return HFAIL(f, np, "cannot extend dataset to %llu rows", (unsigned long long)rows);
  close_id(&d->space);
  d->space = H5Dget_space(d->ds);
  if (d->space < 0) return HFAIL(f, np, "cannot query dataset");
  H5Sget_simple_extent_dims(d->space, d->dims, d->maxd);
  return SL_OK;
}

/* Selects the block off/count in the file space; returns a matching memory space. */
static hid_t select_block(dset *d, const hsize_t *off, const hsize_t *count) {
  if (d->nd == 0) return H5Screate(H5S_SCALAR);
  if (H5Sselect_hyperslab(d->space, H5S_SELECT_SET, off, NULL, count, NULL) < 0) return -1;
  return H5Screate_simple(d->nd, count, NULL);
}

static sl_status write_block(sl_h5_file *f, const char *np, dset *d, const sl_tensor *t, const hsize_t *off,
                             const hsize_t *count) {
  int64_t n = sl_tensor_numel(t);
  if (n == 0) return SL_OK;
  bool half = is_f16(d->type);
  sl_tensor *c = NULL;
  void *buf = NULL;
  hid_t mtype = -1, mspace = -1;
  sl_status st = sl_tensor_contiguous_as(&c, t, half ? SL_DTYPE_F32 : t->dtype);
  if (st != SL_OK) return st;
  const void *src = sl_tensor_data(c);
  if (half) {
    buf = sl_alloc((size_t)n * 2);
    if (!buf) { st = HERR(SL_ERR_OOM, f, np, "out of memory converting %lld values to float16", (long long)n); goto done; }
    f32_to_f16(buf, src, n);
    src = buf;
    mtype = f16_type();
  } else
    mtype = H5Tcopy(mem_type(c->dtype));
  mspace = select_block(d, off, count);
  if (mtype < 0 || mspace < 0) { st = HFAIL(f, np, "cannot select the block to write"); goto done; }
  if (H5Dwrite(d->ds, mtype, mspace, d->space, H5P_DEFAULT, src) < 0) st = HFAIL(f, np, "cannot write");
done:
  close_id(&mspace);
  close_id(&mtype);
  if (buf) sl_free(buf, (size_t)n * 2);
  sl_tensor_release(c);
  return st;
}

static sl_status check_tensor(sl_h5_file *f, const char *np, const sl_tensor *t) {
  if (!t) return HERR(SL_ERR_ARG, f, np, "no tensor given");
  if (sl_tensor_device(t) != SL_DEV_CPU)
    return HERR(SL_ERR_DEVICE, f, np, "the tensor is on %s; move it to the CPU first", sl_device_name(sl_tensor_device(t)));
  return SL_OK;
}

static bool is_string_type(hid_t t) { return H5Tget_class(t) == H5T_STRING; }

/* Writes t at start (missing trailing indices are 0) into the open dataset d, growing dim 0 when
 * it is extendable; sl_h5_write and sl_h5_append share it on one opening of the dataset. */
static sl_status write_at(sl_h5_file *f, const char *np, dset *d, const sl_tensor *t, int nstart,
                          const int64_t *start) {
  char tbuf[96], dbuf[96], obuf[96];
  hsize_t off[SL_MAX_DIMS] = {0}, count[SL_MAX_DIMS];
  if (is_string_type(d->type)) return HERR(SL_ERR_DTYPE, f, np, "cannot write a tensor into a string dataset (use write_strings)");
  if (tensor_dtype_of(d->type, &(sl_dtype){0}) != 0 || H5Tget_class(d->type) == H5T_ENUM) {
    type_name(d->type, tbuf, sizeof tbuf);
    return HERR(SL_ERR_DTYPE, f, np, "cannot write a tensor into a dataset of dtype %s", tbuf);
  }
  if (t->ndim > d->nd)
    return HERR(SL_ERR_SHAPE, f, np, "cannot write a tensor of shape %s into a dataset of shape %s: the tensor has more dims",
                sl_shape_str(tbuf, sizeof tbuf, t->ndim, t->shape), hshape_str(dbuf, sizeof dbuf, d->nd, d->dims));
  if (nstart < 0 || nstart > d->nd) return HERR(SL_ERR_ARG, f, np, "%d start indices given for a dataset of rank %d", nstart, d->nd);
  int pad = d->nd - t->ndim;
  for (int i = 0; i < d->nd; i++) count[i] = i < pad ? 1 : (hsize_t)t->shape[i - pad];
  for (int i = 0; i < nstart; i++) {
    if (start[i] < 0) return HERR(SL_ERR_ARG, f, np, "negative start index %lld in dim %d", (long long)start[i], i + 1);
    off[i] = (hsize_t)start[i];
  }
  bool fits = true;
  for (int i = 1; i < d->nd; i++) fits = fits && off[i] + count[i] <= d->dims[i];
  bool grows = d->nd > 0 && off[0] + count[0] > d->dims[0];
  if (!fits || (grows && d->maxd[0] != H5S_UNLIMITED && off[0] + count[0] > d->maxd[0]))
    return HERR(SL_ERR_SHAPE, f, np, "cannot write a tensor of shape %s at offset %s: dataset shape is %s%s",
                sl_shape_str(tbuf, sizeof tbuf, t->ndim, t->shape), hshape_str(obuf, sizeof obuf, d->nd, off),
                hshape_str(dbuf, sizeof dbuf, d->nd, d->dims),
                fits ? " and dim 1 is not extendable that far" : " (the trailing dims must fit)");
  if (grows) SL_TRY(dset_grow(f, np, d, off[0] + count[0]));
  return write_block(f, np, d, t, off, count);
}

sl_status sl_h5_write(sl_h5_file *f, const char *path, const sl_tensor *t, int nstart, const int64_t *start) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "write"));
  SL_TRY(check_tensor(f, np, t));
  dset d;
  SL_TRY(dset_open(f, np, &d));
  sl_status st = write_at(f, np, &d, t, nstart, start);
  dset_close(&d);
  return st;
}

sl_status sl_h5_append(sl_h5_file *f, const char *path, const sl_tensor *t, int64_t *rows) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "append"));
  SL_TRY(check_tensor(f, np, t));
  dset d;
  SL_TRY(dset_open(f, np, &d));
  sl_status st = SL_OK;
  char tbuf[96], dbuf[96];
  if (d.nd == 0) st = HERR(SL_ERR_SHAPE, f, np, "cannot append to a scalar dataset");
  else if (t->ndim != d.nd && t->ndim != d.nd - 1)
    st = HERR(SL_ERR_SHAPE, f, np, "cannot append a tensor of shape %s to a dataset of shape %s: expected rank %d (rows) or %d (one row)",
              sl_shape_str(tbuf, sizeof tbuf, t->ndim, t->shape), hshape_str(dbuf, sizeof dbuf, d.nd, d.dims), d.nd, d.nd - 1);
  const int64_t at = d.nd > 0 ? (int64_t)d.dims[0] : 0;
  const int64_t added = t->ndim == d.nd && d.nd > 0 ? t->shape[0] : 1;
  if (st == SL_OK) st = write_at(f, np, &d, t, 1, &at);
  dset_close(&d);
  if (st == SL_OK && rows) *rows = at + added;
  return st;
}

sl_status sl_h5_read(sl_tensor **out, sl_h5_file *f, const char *path, int nsel, const int64_t *start,
                     const int64_t *count) {
  *out = NULL;
  NORM(f, np, path);
  dset d;
  SL_TRY(dset_open(f, np, &d));
  sl_status st = SL_OK;
  sl_tensor *t = NULL;
  void *buf = NULL;
  hid_t mtype = -1, mspace = -1;
  hsize_t off[SL_MAX_DIMS] = {0}, cnt[SL_MAX_DIMS];
  int64_t shape[SL_MAX_DIMS];
  char tbuf[96];
  sl_dtype dt;
  if (tensor_dtype_of(d.type, &dt) != 0) {
    type_name(d.type, tbuf, sizeof tbuf);
    st = HERR(SL_ERR_DTYPE, f, np, "cannot read a dataset of dtype %s into a tensor%s", tbuf,
              is_string_type(d.type) ? " (use read_strings)" : "");
    goto done;
  }
  if (nsel < 0 || nsel > d.nd) { st = HERR(SL_ERR_ARG, f, np, "%d start indices given for a dataset of rank %d", nsel, d.nd); goto done; }
  for (int i = 0; i < d.nd; i++) {
    int64_t s = i < nsel ? start[i] : 0, n = i < nsel && count ? count[i] : -1, size = (int64_t)d.dims[i];
    if (n < 0) n = size - s;
    if (s < 0 || n < 0 || s + n > size) {
      if (i < nsel && count && count[i] >= 0)
        st = HERR(SL_ERR_ARG, f, np, "cannot read %lld elements from offset %lld in dim %d: its size is %lld",
                  (long long)count[i], (long long)s, i + 1, (long long)size);
      else
        st = HERR(SL_ERR_ARG, f, np, "cannot read from offset %lld in dim %d: its size is %lld", (long long)s, i + 1,
                  (long long)size);
      goto done;
    }
    off[i] = (hsize_t)s;
    cnt[i] = (hsize_t)n;
    shape[i] = n;
  }
  st = sl_tensor_empty(&t, dt, d.nd, shape);
  if (st != SL_OK) goto done;
  int64_t n = sl_tensor_numel(t);
  if (n == 0) goto done;
  bool half = is_f16(d.type);
  void *dst = sl_tensor_data(t);
  if (half) {
    buf = sl_alloc((size_t)n * 2);
    if (!buf) { st = HERR(SL_ERR_OOM, f, np, "out of memory reading %lld float16 values", (long long)n); goto done; }
    dst = buf;
    mtype = f16_type();
  } else
    mtype = H5Tcopy(mem_type(dt));
  mspace = select_block(&d, off, cnt);
  if (mtype < 0 || mspace < 0) { st = HFAIL(f, np, "cannot select the block to read"); goto done; }
  herr_t r = H5Tget_class(d.type) == H5T_ENUM ? read_enum(d.ds, false, d.type, mspace, d.space, t, n)
                                               : H5Dread(d.ds, mtype, mspace, d.space, H5P_DEFAULT, dst);
  if (r < 0) { st = HFAIL(f, np, "cannot read"); goto done; }
  if (half) f16_to_f32(sl_tensor_data(t), buf, n);
done:
  if (buf) sl_free(buf, (size_t)sl_tensor_numel(t) * 2);
  close_id(&mspace);
  close_id(&mtype);
  dset_close(&d);
  if (st != SL_OK) sl_tensor_release(t);
  else *out = t;
  return st;
}

sl_status sl_h5_resize(sl_h5_file *f, const char *path, int64_t rows) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "resize"));
  if (rows < 0) return HERR(SL_ERR_ARG, f, np, "cannot resize to %lld rows", (long long)rows);
  dset d;
  SL_TRY(dset_open(f, np, &d));
  sl_status st = SL_OK;
  char dbuf[96];
  if (d.nd == 0) st = HERR(SL_ERR_SHAPE, f, np, "cannot resize a scalar dataset");
  else if (d.maxd[0] != H5S_UNLIMITED && (hsize_t)rows > d.maxd[0])
    st = HERR(SL_ERR_SHAPE, f, np, "cannot resize dim 1 to %lld: dataset shape is %s, max %llu", (long long)rows,
              hshape_str(dbuf, sizeof dbuf, d.nd, d.dims), (unsigned long long)d.maxd[0]);
  else if ((hsize_t)rows != d.dims[0]) {
    hsize_t nd[SL_MAX_DIMS];
    memcpy(nd, d.dims, sizeof nd);
    nd[0] = (hsize_t)rows;
    if (H5Dset_extent(d.ds, nd) < 0) st = HFAIL(f, np, "cannot resize to %lld rows", (long long)rows);
  }
  dset_close(&d);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------------------------------- */

/* Strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF): h5py refuses to decode the rest. */
static bool utf8_valid(const unsigned char *s) {
  while (*s) {
    unsigned c = *s;
    int n;
    unsigned min;
    if (c < 0x80) { s++; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; c &= 0x07; }
    else return false;
    for (int i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80) return false;
      c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    s += n + 1;
  }
  return true;
}

static sl_status check_strings(sl_h5_file *f, const char *np, const char *const *strs, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (!strs[i]) return HERR(SL_ERR_ARG, f, np, "string %lld is NULL", (long long)i + 1);
    if (!utf8_valid((const unsigned char *)strs[i]))
      return HERR(SL_ERR_ARG, f, np, "string %lld is not valid UTF-8", (long long)i + 1);
  }
  return SL_OK;
}

sl_status sl_h5_write_strings(sl_h5_file *f, const char *path, const char *const *strs, int64_t n, int64_t start) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "write strings"));
  if (n < 0 || start < SL_H5_APPEND) return HERR(SL_ERR_ARG, f, np, "bad string range (start %lld, n %lld)", (long long)start, (long long)n);
  SL_TRY(check_strings(f, np, strs, n));
  if (!path_exists(f->id, np)) {
    sl_h5_dataset_opts o = {.dtype = SL_H5_STRING, .ndim = 1, .maxshape = {SL_H5_UNLIMITED}, .chunks = {1024}};
    SL_TRY(sl_h5_create_dataset(f, np, &o));
  }
  dset d;
  SL_TRY(dset_open(f, np, &d));
  sl_status st = SL_OK;
  hid_t mtype = -1, mspace = -1;
  char dbuf[96];
  if (!is_string_type(d.type) || H5Tis_variable_str(d.type) <= 0 || d.nd != 1) {
    type_name(d.type, dbuf, sizeof dbuf);
    st = HERR(SL_ERR_DTYPE, f, np, "cannot write strings: expected a 1-D variable-length string dataset, found %s of rank %d", dbuf, d.nd);
    goto done;
  }
  hsize_t off = start == SL_H5_APPEND ? d.dims[0] : (hsize_t)start, cnt = (hsize_t)n;
  if (off + cnt > d.dims[0]) {
    st = dset_grow(f, np, &d, off + cnt);
    if (st != SL_OK) goto done;
  }
  if (n == 0) goto done;
  mtype = vlen_str_type(H5Tget_cset(d.type));
  mspace = select_block(&d, &off, &cnt);
  if (mtype < 0 || mspace < 0) { st = HFAIL(f, np, "cannot select strings to write"); goto done; }
  if (H5Dwrite(d.ds, mtype, mspace, d.space, H5P_DEFAULT, strs) < 0) st = HFAIL(f, np, "cannot write strings");
done:
  close_id(&mspace);
  close_id(&mtype);
  dset_close(&d);
  return st;
}

void sl_h5_strings_free(char **strs, int64_t n) {
  if (!strs) return;
  for (int64_t i = 0; i < n; i++) free(strs[i]);
  free(strs);
}

/* Reads the n strings of (already selected) obj into malloc'd copies.  obj is a dataset or an
 * attribute; ftype its string type.  vlen or fixed-length, any padding. */
static sl_status read_string_values(char ***out, hid_t obj, bool is_attr, hid_t ftype, hid_t mspace, hid_t fspace,
                                    int64_t n, sl_h5_file *f, const char *np) {
  *out = NULL;
  char **res = calloc(n > 0 ? (size_t)n : 1, sizeof *res);
  if (!res) return HERR(SL_ERR_OOM, f, np, "out of memory reading %lld strings", (long long)n);
  sl_status st = SL_OK;
  hid_t mtype = -1;
  if (H5Tis_variable_str(ftype) > 0) {
    char **raw = calloc(n > 0 ? (size_t)n : 1, sizeof *raw);
    mtype = vlen_str_type(H5Tget_cset(ftype));
    if (!raw || mtype < 0) { free(raw); st = HFAIL(f, np, "cannot read strings"); goto done; }
    herr_t r = is_attr ? H5Aread(obj, mtype, raw) : H5Dread(obj, mtype, mspace, fspace, H5P_DEFAULT, raw);
    if (r < 0) { free(raw); st = HFAIL(f, np, "cannot read strings"); goto done; }
    for (int64_t i = 0; i < n && st == SL_OK; i++)
      if (!(res[i] = dup_str(raw[i] ? raw[i] : ""))) st = HERR(SL_ERR_OOM, f, np, "out of memory reading strings");
    /* The library allocated the strings; only it can free them. */
    hid_t rs = is_attr ? H5Screate_simple(1, (hsize_t[]){(hsize_t)n}, NULL) : H5Scopy(mspace);
    if (rs >= 0) H5Dvlen_reclaim(mtype, rs, H5P_DEFAULT, raw);
    close_id(&rs);
    free(raw);
  } else {
    size_t size = H5Tget_size(ftype);
    H5T_str_t pad = H5Tget_strpad(ftype);
    char *raw = malloc((size_t)n * size + 1);
    mtype = H5Tcopy(ftype);
    if (!raw || mtype < 0) { free(raw); st = HFAIL(f, np, "cannot read strings"); goto done; }
    herr_t r = is_attr ? H5Aread(obj, mtype, raw) : H5Dread(obj, mtype, mspace, fspace, H5P_DEFAULT, raw);
    if (r < 0) { free(raw); st = HFAIL(f, np, "cannot read strings"); goto done; }
    for (int64_t i = 0; i < n && st == SL_OK; i++) {
      const char *s = raw + (size_t)i * size;
      size_t len = strnlen(s, size);
      if (pad == H5T_STR_SPACEPAD) while (len > 0 && s[len - 1] == ' ') len--;
      if (!(res[i] = malloc(len + 1))) { st = HERR(SL_ERR_OOM, f, np, "out of memory reading strings"); break; }
      memcpy(res[i], s, len);
      res[i][len] = '\0';
    }
    free(raw);
  }
done:
  close_id(&mtype);
  if (st != SL_OK) sl_h5_strings_free(res, n);
  else *out = res;
  return st;
}

sl_status sl_h5_read_strings(char ***out, int64_t *n, sl_h5_file *f, const char *path, int64_t start, int64_t count) {
  *out = NULL;
  *n = 0;
  NORM(f, np, path);
  dset d;
  SL_TRY(dset_open(f, np, &d));
  sl_status st = SL_OK;
  hid_t mspace = -1;
  char dbuf[96];
  if (!is_string_type(d.type) || d.nd > 1) {
    type_name(d.type, dbuf, sizeof dbuf);
    st = HERR(SL_ERR_DTYPE, f, np, "cannot read strings: expected a 1-D string dataset, found %s of rank %d", dbuf, d.nd);
    goto done;
  }
  int64_t size = d.nd == 0 ? 1 : (int64_t)d.dims[0];
  if (count < 0) count = size - start;
  if (start < 0 || count < 0 || start + count > size) {
    st = HERR(SL_ERR_ARG, f, np, "cannot read strings %lld..%lld: the dataset holds %lld", (long long)start + 1,
              (long long)(start + count), (long long)size);
    goto done;
  }
  hsize_t off = (hsize_t)start, cnt = (hsize_t)count;
  if (count > 0) {
    mspace = select_block(&d, &off, &cnt);
    if (mspace < 0) { st = HFAIL(f, np, "cannot select strings to read"); goto done; }
    st = read_string_values(out, d.ds, false, d.type, mspace, d.space, count, f, np);
  } else if (!(*out = calloc(1, sizeof(char *)))) {
    st = HERR(SL_ERR_OOM, f, np, "out of memory");
  }
  if (st == SL_OK) *n = count;
done:
  close_id(&mspace);
  dset_close(&d);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Listing
 * ---------------------------------------------------------------------------------------------- */

void sl_h5_info_clear(sl_h5_info *info) {
  if (!info) return;
  free(info->path);
  memset(info, 0, sizeof *info);
}

void sl_h5_infos_free(sl_h5_info *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) free(v[i].path);
  free(v);
}

static void dataset_info(hid_t ds, sl_h5_info *in) {
  hid_t t = H5Dget_type(ds), s = H5Dget_space(ds), p = H5Dget_create_plist(ds);
  if (t >= 0) type_name(t, in->dtype, sizeof in->dtype);
  int nd = s >= 0 ? H5Sget_simple_extent_ndims(s) : 0;
  if (nd > SL_MAX_DIMS) nd = SL_MAX_DIMS;  /* listing only: truncated, reading refuses it */
  in->ndim = nd > 0 ? nd : 0;
  if (nd > 0) {
    hsize_t dims[32], maxd[32];
    H5Sget_simple_extent_dims(s, dims, maxd);
    for (int i = 0; i < nd; i++) {
      in->shape[i] = (int64_t)dims[i];
      in->maxshape[i] = maxd[i] == H5S_UNLIMITED ? SL_H5_UNLIMITED : (int64_t)maxd[i];
    }
  }
  if (p >= 0 && H5Pget_layout(p) == H5D_CHUNKED) {
    hsize_t ch[32];
    int cn = H5Pget_chunk(p, 32, ch);
    in->chunked = 1;
    for (int i = 0; i < cn && i < in->ndim; i++) in->chunks[i] = (int64_t)ch[i];
    int nf = H5Pget_nfilters(p);
    for (int i = 0; i < nf; i++) {
      unsigned flags, cd[8];
      size_t ncd = 8;
      char fname[64];
      H5Z_filter_t id = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, NULL);
      if (id == H5Z_FILTER_SHUFFLE) in->shuffle = 1;
      else if (id == H5Z_FILTER_DEFLATE) {
        snprintf(in->compression, sizeof in->compression, "gzip");
        in->level = ncd > 0 ? (int)cd[0] : 0;
      } else if (id == H5Z_FILTER_SZIP) snprintf(in->compression, sizeof in->compression, "szip");
      else if (id == 32000) snprintf(in->compression, sizeof in->compression, "lzf");  /* h5py's LZF id */
      else if (id > 0 && id != H5Z_FILTER_FLETCHER32 && !in->compression[0])
        snprintf(in->compression, sizeof in->compression, "filter%d", (int)id);
    }
  }
  close_id(&p);
  close_id(&s);
  close_id(&t);
}

/* Fills info for np (which must exist or be a dangling link). */
static sl_status fill_info(sl_h5_info *in, sl_h5_file *f, const char *np) {
  memset(in, 0, sizeof *in);
  in->path = dup_str(np);
  if (!in->path) return HERR(SL_ERR_OOM, f, np, "out of memory");
  in->name = strcmp(np, "/") ? strrchr(in->path, '/') + 1 : in->path + 1;
  in->kind = SL_H5_KIND_OTHER;
  if (!path_exists(f->id, np)) return SL_OK;  /* dangling soft or external link */
  hid_t o = H5Oopen(f->id, np, H5P_DEFAULT);
  if (o < 0) {
    H5Eclear2(H5E_DEFAULT);
    return SL_OK;
  }
  H5I_type_t ty = H5Iget_type(o);
  if (ty == H5I_GROUP) in->kind = SL_H5_KIND_GROUP;
  else if (ty == H5I_DATASET) {
    in->kind = SL_H5_KIND_DATASET;
    dataset_info(o, in);
  }
  close_id(&o);
  return SL_OK;
}

sl_status sl_h5_info_get(sl_h5_info *out, sl_h5_file *f, const char *path) {
  memset(out, 0, sizeof *out);
  NORM(f, np, path);
  if (!f || f->id < 0) return SL_ERR(SL_ERR_ARG, "h5: the file is closed");
  h5_quiet();
  if (!link_exists(f->id, np)) return HERR(SL_ERR_ARG, f, np, "no such object");
  sl_status st = fill_info(out, f, np);
  if (st != SL_OK) sl_h5_info_clear(out);
  return st;
}

typedef struct {
  char  **names;
  size_t  n, cap;
  bool    oom;
  bool   *hard;  /* parallel to names: hard link (safe to descend) */
} name_list;

static herr_t collect_cb(hid_t g, const char *name, const H5L_info_t *li, void *data) {
  (void)g;
  name_list *l = data;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **nn = realloc(l->names, cap * sizeof *nn);
    if (nn) l->names = nn;
    bool *nh = nn ? realloc(l->hard, cap * sizeof *nh) : NULL;
    if (!nn || !nh) { l->oom = true; return -1; }
    l->hard = nh;
    l->cap = cap;
  }
  if (!(l->names[l->n] = dup_str(name))) { l->oom = true; return -1; }
  l->hard[l->n++] = li->type == H5L_TYPE_HARD;
  return 0;
}

typedef struct {
  sl_h5_info *v;
  size_t      n, cap;
} info_vec;

static sl_status list_rec(info_vec *acc, sl_h5_file *f, const char *np, bool recursive, int depth) {
  if (depth > 64) return HERR(SL_ERR_ARG, f, np, "groups nested deeper than 64 levels (a cycle of hard links?)");
  hid_t g;
  SL_TRY(open_obj(f, np, H5I_GROUP, &g));
  name_list l = {0};
  hsize_t idx = 0;
  herr_t r = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_cb, &l);
  sl_status st = SL_OK;
  if (l.oom) st = HERR(SL_ERR_OOM, f, np, "out of memory listing the group");
  else if (r < 0) st = HFAIL(f, np, "cannot list the group");
  close_id(&g);
  for (size_t i = 0; i < l.n && st == SL_OK; i++) {
    char child[PATH_CAP];
    int w = snprintf(child, sizeof child, "%s/%s", strcmp(np, "/") ? np : "", l.names[i]);
    if (w < 0 || w >= PATH_CAP) { st = HERR(SL_ERR_ARG, f, np, "child path longer than %d bytes", PATH_CAP - 1); break; }
    if (acc->n == acc->cap) {
      size_t cap = acc->cap ? acc->cap * 2 : 16;
      sl_h5_info *nv = realloc(acc->v, cap * sizeof *nv);
      if (!nv) { st = HERR(SL_ERR_OOM, f, np, "out of memory listing the group"); break; }
      acc->v = nv;
      acc->cap = cap;
    }
    st = fill_info(&acc->v[acc->n], f, child);
    acc->n++;  /* counted even on failure so its path is freed */
    if (st == SL_OK && recursive && l.hard[i] && acc->v[acc->n - 1].kind == SL_H5_KIND_GROUP)
      st = list_rec(acc, f, child, true, depth + 1);
  }
  for (size_t i = 0; i < l.n; i++) free(l.names[i]);
  free(l.names);
  free(l.hard);
  return st;
}

sl_status sl_h5_list(sl_h5_info **out, size_t *n, sl_h5_file *f, const char *path, int recursive) {
  *out = NULL;
  *n = 0;
  NORM(f, np, path);
  info_vec acc = {0};
  sl_status st = list_rec(&acc, f, np, recursive != 0, 0);
  if (st != SL_OK) {
    sl_h5_infos_free(acc.v, acc.n);
    return st;
  }
  *out = acc.v;
  *n = acc.n;
  return SL_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Attributes
 * ---------------------------------------------------------------------------------------------- */

/* Opens the object carrying attributes and removes any old attribute called name. */
static sl_status attr_target(sl_h5_file *f, const char *np, const char *name, hid_t *obj) {
  SL_TRY(check_writable(f, np, "set an attribute"));
  if (!name || !*name) return HERR(SL_ERR_ARG, f, np, "empty attribute name");
  SL_TRY(open_obj(f, np, H5I_BADID, obj));
  htri_t e = H5Aexists(*obj, name);
  if (e < 0 || (e > 0 && H5Adelete(*obj, name) < 0)) {
    sl_status st = HFAIL(f, np, "cannot replace attribute '%s'", name);
    close_id(obj);
    return st;
  }
  return SL_OK;
}

/* Creates attribute name on obj with type/space and writes buf given in mtype. */
static sl_status attr_write(sl_h5_file *f, const char *np, hid_t obj, const char *name, hid_t ftype, hid_t space,
                            hid_t mtype, const void *buf) {
  sl_status st = SL_OK;
  if (ftype < 0 || space < 0 || mtype < 0) return HFAIL(f, np, "cannot set attribute '%s'", name);
  hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return HFAIL(f, np, "cannot create attribute '%s'", name);
  if (H5Awrite(a, mtype, buf) < 0) st = HFAIL(f, np, "cannot write attribute '%s'", name);
  close_id(&a);
  return st;
}

static sl_status set_scalar(sl_h5_file *f, const char *path, const char *name, hid_t ftype, hid_t mtype, const void *v) {
  NORM(f, np, path);
  hid_t obj = -1, ft = H5Tcopy(ftype), sp = H5Screate(H5S_SCALAR);
  sl_status st = attr_target(f, np, name, &obj);
  if (st == SL_OK) st = attr_write(f, np, obj, name, ft, sp, mtype, v);
  close_id(&obj);
  close_id(&sp);
  close_id(&ft);
  return st;
}

sl_status sl_h5_set_attr_int(sl_h5_file *f, const char *path, const char *name, int64_t v) {
  return set_scalar(f, path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

sl_status sl_h5_set_attr_float(sl_h5_file *f, const char *path, const char *name, double v) {
  return set_scalar(f, path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

sl_status sl_h5_set_attr_string(sl_h5_file *f, const char *path, const char *name, const char *s) {
  NORM(f, np, path);
  SL_TRY(check_strings(f, np, &s, 1));
  hid_t t = vlen_str_type(H5T_CSET_UTF8);
  sl_status st = set_scalar(f, path, name, t, t, &s);
  close_id(&t);
  return st;
}

sl_status sl_h5_set_attr_strings(sl_h5_file *f, const char *path, const char *name, const char *const *strs,
                                 int64_t n) {
  NORM(f, np, path);
  if (n < 0) return HERR(SL_ERR_ARG, f, np, "negative string count");
  SL_TRY(check_strings(f, np, strs, n));
  hid_t obj = -1, t = vlen_str_type(H5T_CSET_UTF8), sp = H5Screate_simple(1, (hsize_t[]){(hsize_t)n}, NULL);
  sl_status st = attr_target(f, np, name, &obj);
  if (st == SL_OK) st = attr_write(f, np, obj, name, t, sp, t, strs);
  close_id(&obj);
  close_id(&sp);
  close_id(&t);
  return st;
}

sl_status sl_h5_set_attr_array(sl_h5_file *f, const char *path, const char *name, const sl_tensor *t) {
  NORM(f, np, path);
  SL_TRY(check_tensor(f, np, t));
  sl_tensor *c = NULL;
  SL_TRY(sl_tensor_contiguous_as(&c, t, t->dtype));
  hsize_t dims[SL_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) dims[i] = (hsize_t)t->shape[i];
  hid_t obj = -1, ft = file_type(h5_of_tensor(t->dtype));
  hid_t sp = t->ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t->ndim, dims, NULL);
  sl_status st = attr_target(f, np, name, &obj);
  if (st == SL_OK) st = attr_write(f, np, obj, name, ft, sp, mem_type(t->dtype), sl_tensor_data(c));
  close_id(&obj);
  close_id(&sp);
  close_id(&ft);
  sl_tensor_release(c);
  return st;
}

sl_status sl_h5_delete_attr(sl_h5_file *f, const char *path, const char *name) {
  NORM(f, np, path);
  SL_TRY(check_writable(f, np, "delete an attribute"));
  hid_t obj;
  SL_TRY(open_obj(f, np, H5I_BADID, &obj));
  sl_status st = SL_OK;
  htri_t e = H5Aexists(obj, name);
  if (e == 0) st = HERR(SL_ERR_ARG, f, np, "no attribute '%s'", name);
  else if (e < 0 || H5Adelete(obj, name) < 0) st = HFAIL(f, np, "cannot delete attribute '%s'", name);
  close_id(&obj);
  return st;
}

void sl_h5_attr_clear(sl_h5_attr *a) {
  if (!a) return;
  free(a->name);
  free(a->str);
  sl_h5_strings_free(a->strs, a->nstrs);
  sl_tensor_release(a->array);
  memset(a, 0, sizeof *a);
}

void sl_h5_attrs_free(sl_h5_attr *a, size_t n) {
  if (!a) return;
  for (size_t i = 0; i < n; i++) sl_h5_attr_clear(&a[i]);
  free(a);
}

/* Reads the open attribute a into out. */
static sl_status read_attr(sl_h5_attr *out, sl_h5_file *f, const char *np, hid_t a, const char *name) {
  memset(out, 0, sizeof *out);
  sl_status st = SL_OK;
  hid_t t = H5Aget_type(a), s = H5Aget_space(a);
  char tbuf[24];
  if (t < 0 || s < 0) { st = HFAIL(f, np, "cannot query attribute '%s'", name); goto done; }
  if (!(out->name = dup_str(name))) { st = HERR(SL_ERR_OOM, f, np, "out of memory"); goto done; }
  H5S_class_t sc = H5Sget_simple_extent_type(s);
  int nd = H5Sget_simple_extent_ndims(s);
  hssize_t n = H5Sget_simple_extent_npoints(s);
  if (sc == H5S_NULL || nd < 0 || nd > SL_MAX_DIMS || n < 0) {
    st = HERR(SL_ERR_NOT_IMPL, f, np, "attribute '%s' has an empty or unsupported dataspace", name);
    goto done;
  }
  sl_dtype dt;
  if (is_string_type(t)) {
    char **v;
    st = read_string_values(&v, a, true, t, -1, -1, n, f, np);
    if (st != SL_OK) goto done;
    if (sc == H5S_SCALAR) {
      out->kind = SL_H5_ATTR_STRING;
      out->str = v[0];
      free(v);
    } else {
      out->kind = SL_H5_ATTR_STRINGS;
      out->strs = v;
      out->nstrs = n;
    }
  } else if (tensor_dtype_of(t, &dt) == 0) {
    /* Scalars are read through a 0-d tensor too, as int64 or double (int vs float is kept). */
    bool is_int = H5Tget_class(t) != H5T_FLOAT, scalar = sc == H5S_SCALAR;
    hsize_t dims[SL_MAX_DIMS];
    int64_t shape[SL_MAX_DIMS];
    H5Sget_simple_extent_dims(s, dims, NULL);
    for (int i = 0; i < nd; i++) shape[i] = (int64_t)dims[i];
    if (scalar) dt = is_int ? SL_DTYPE_I64 : SL_DTYPE_F64;
    sl_tensor *arr = NULL;
    st = sl_tensor_empty(&arr, dt, scalar ? 0 : nd, shape);
    if (st != SL_OK) goto done;
    herr_t r = n == 0 ? 0
             : H5Tget_class(t) == H5T_ENUM ? read_enum(a, true, t, -1, -1, arr, n)
             : H5Aread(a, mem_type(dt), sl_tensor_data(arr));
    if (r < 0) {
      sl_tensor_release(arr);
      st = HFAIL(f, np, "cannot read attribute '%s'", name);
      goto done;
    }
    if (!scalar) {
      out->kind = SL_H5_ATTR_ARRAY;
      out->array = arr;
    } else {
      out->kind = is_int ? SL_H5_ATTR_INT : SL_H5_ATTR_FLOAT;
      if (is_int) out->d = (double)(out->i = *(const int64_t *)sl_tensor_data(arr));
      else out->i = (int64_t)(out->d = *(const double *)sl_tensor_data(arr));
      sl_tensor_release(arr);
    }
  } else {
    type_name(t, tbuf, sizeof tbuf);
    st = HERR(SL_ERR_NOT_IMPL, f, np, "attribute '%s' has dtype %s, which is not supported", name, tbuf);
  }
done:
  close_id(&s);
  close_id(&t);
  if (st != SL_OK) sl_h5_attr_clear(out);
  return st;
}

sl_status sl_h5_get_attr(sl_h5_attr *out, sl_h5_file *f, const char *path, const char *name) {
  memset(out, 0, sizeof *out);
  NORM(f, np, path);
  hid_t obj;
  SL_TRY(open_obj(f, np, H5I_BADID, &obj));
  sl_status st = SL_OK;
  htri_t e = name && *name ? H5Aexists(obj, name) : 0;
  if (e == 0) st = HERR(SL_ERR_ARG, f, np, "no attribute '%s'", name ? name : "");
  else if (e < 0) st = HFAIL(f, np, "cannot look up attribute '%s'", name);
  else {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) st = HFAIL(f, np, "cannot open attribute '%s'", name);
    else st = read_attr(out, f, np, a, name);
    close_id(&a);
  }
  close_id(&obj);
  return st;
}

static herr_t attr_name_cb(hid_t loc, const char *name, const H5A_info_t *ai, void *data) {
  (void)loc;
  (void)ai;
  name_list *l = data;
  H5L_info_t li = {.type = H5L_TYPE_HARD};
  return collect_cb(loc, name, &li, l);
}

sl_status sl_h5_get_attrs(sl_h5_attr **out, size_t *n, sl_h5_file *f, const char *path) {
  *out = NULL;
  *n = 0;
  NORM(f, np, path);
  hid_t obj;
  SL_TRY(open_obj(f, np, H5I_BADID, &obj));
  name_list l = {0};
  hsize_t idx = 0;
  herr_t r = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_name_cb, &l);
  sl_status st = SL_OK;
  sl_h5_attr *v = NULL;
  size_t got = 0;
  if (l.oom) st = HERR(SL_ERR_OOM, f, np, "out of memory listing attributes");
  else if (r < 0) st = HFAIL(f, np, "cannot list attributes");
  else if (!(v = calloc(l.n ? l.n : 1, sizeof *v))) st = HERR(SL_ERR_OOM, f, np, "out of memory listing attributes");
  for (size_t i = 0; i < l.n && st == SL_OK; i++) {
    hid_t a = H5Aopen(obj, l.names[i], H5P_DEFAULT);
    if (a < 0) st = HFAIL(f, np, "cannot open attribute '%s'", l.names[i]);
    else st = read_attr(&v[got++], f, np, a, l.names[i]);
    close_id(&a);
  }
  for (size_t i = 0; i < l.n; i++) free(l.names[i]);
  free(l.names);
  free(l.hard);
  close_id(&obj);
  if (st != SL_OK) {
    sl_h5_attrs_free(v, got);
    return st;
  }
  *out = v;
  *n = got;
  return SL_OK;
}
