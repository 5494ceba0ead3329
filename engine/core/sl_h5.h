/* sl_h5.h — HDF5 files: groups, chunked/compressed datasets, hyperslab I/O into tensors,
 * variable-length UTF-8 strings and attributes, written so that h5py reads them with no extra step.
 *
 * Objects are addressed by path inside the file ("features/initial"; a leading '/' is optional,
 * "" and "/" are the root group).  Every call opens what it needs and closes it again, so the only
 * handle a caller keeps is the file.  Indices are 0-based here (the Lua binding converts).
 *
 * Errors: every failure returns a status and records a message of the form
 *   "<file>: <path>: <what failed> (hdf5: <innermost HDF5 error> [<major>/<minor>])"
 * (the parenthesised part only when HDF5 itself failed).  HDF5's automatic error printing is
 * switched off; nothing is printed to stderr. */
#ifndef SL_H5_H
#define SL_H5_H

#include "sl_tensor.h"

typedef struct sl_h5_file sl_h5_file;

/* ---- files ---- */
/* mode: "r" read-only, "r+" read/write (must exist), "w" create or truncate, "x" create (fails if
 * the file exists), "a" read/write, created if missing. */
sl_status   sl_h5_open(sl_h5_file **out, const char *filename, const char *mode);
/* Closes the file and frees the handle (NULL-safe).  Returns an error if HDF5 could not flush,
 * but the handle is freed in every case. */
sl_status   sl_h5_close(sl_h5_file *f);
sl_status   sl_h5_flush(sl_h5_file *f);
const char *sl_h5_filename(const sl_h5_file *f);
const char *sl_h5_mode(const sl_h5_file *f);        /* the mode string given to sl_h5_open */
int         sl_h5_writable(const sl_h5_file *f);
int         sl_h5_is_hdf5(const char *filename);    /* 1 if an HDF5 file, 0 otherwise (also if missing) */

/* ---- links ---- */
sl_status sl_h5_exists(sl_h5_file *f, const char *path, int *out);
/* Creates the group and any missing parents; succeeds if it already is a group. */
sl_status sl_h5_create_group(sl_h5_file *f, const char *path);
/* Unlinks a group or dataset (the space is reused by later writes, not returned to the OS). */
sl_status sl_h5_delete(sl_h5_file *f, const char *path);

/* ---- dataset element types ---- */
typedef enum {
  SL_H5_FLOAT32 = 0, SL_H5_FLOAT64, SL_H5_INT32, SL_H5_INT64, SL_H5_UINT8,
  SL_H5_FLOAT16,   /* storage only: IEEE half precision; read back as float32 tensors */
  SL_H5_STRING,    /* variable-length UTF-8 strings (1-D) */
  SL_H5_DTYPE_COUNT
} sl_h5_dtype;
const char *sl_h5_dtype_name(sl_h5_dtype dt);                 /* "float32", ..., "float16", "string" */
int         sl_h5_dtype_from_name(const char *name, sl_h5_dtype *out); /* 0 = ok; accepts tensor aliases */

#define SL_H5_UNLIMITED (-1)

typedef struct {
  sl_h5_dtype dtype;
  int         ndim;                  /* 0..SL_MAX_DIMS */
  int64_t     shape[SL_MAX_DIMS];
  /* SL_H5_UNLIMITED, or a size >= shape; 0 means "same as shape" (so a zeroed struct is fixed). */
  int64_t     maxshape[SL_MAX_DIMS];
  /* All 0: contiguous unless chunking is required (unlimited dims, compression, shuffle), in
   * which case a shape of about 64 KiB of whole rows is chosen. */
  int64_t     chunks[SL_MAX_DIMS];
  int         gzip;                  /* deflate level 1..9; 0 = no compression */
  int         shuffle;               /* byte-shuffle filter before deflate */
} sl_h5_dataset_opts;

/* Creates a dataset (and missing parent groups); fails if the path exists. */
sl_status sl_h5_create_dataset(sl_h5_file *f, const char *path, const sl_h5_dataset_opts *opts);

/* ---- numeric dataset I/O ---- */
/* Writes t into the block of the dataset that starts at start[0..nstart) (the rest 0) and has t's
 * shape, left-padded with 1s to the dataset's rank (so a [M,42] tensor is one row of [N,M,42]).
 * Any dtype / stride is accepted (converted first).  If the block ends past dim 0 and the dataset
 * is extendable there, dim 0 grows; any other overflow is an error naming both shapes. */
sl_status sl_h5_write(sl_h5_file *f, const char *path, const sl_tensor *t, int nstart, const int64_t *start);
/* Appends t as new rows at the end of dim 0 (t has the dataset's rank, or one less for a single
 * row); *rows (may be NULL) receives the new size of dim 0. */
sl_status sl_h5_append(sl_h5_file *f, const char *path, const sl_tensor *t, int64_t *rows);
/* Reads the block start[i]..start[i]+count[i] along the first nsel dims (whole extent along the
 * rest; count[i] < 0 means "to the end") into a new tensor of the dataset's dtype (float16 →
 * float32).  The result keeps the dataset's rank. */
sl_status sl_h5_read(sl_tensor **out, sl_h5_file *f, const char *path, int nsel, const int64_t *start,
                     const int64_t *count);
/* Sets dim 0 of an extendable dataset to rows (shrinking drops rows). */
sl_status sl_h5_resize(sl_h5_file *f, const char *path, int64_t rows);

/* ---- string datasets (1-D, variable-length UTF-8) ---- */
#define SL_H5_APPEND (-1)
/* Writes n strings at index start (SL_H5_APPEND: at the end).  Creates an extendable 1-D string
 * dataset if the path does not exist, and grows it when the strings end past its size.
 * Strings must be valid UTF-8. */
sl_status sl_h5_write_strings(sl_h5_file *f, const char *path, const char *const *strs, int64_t n,
                              int64_t start);
/* Reads count strings from start (count < 0: to the end).  Also reads fixed-length and ASCII
 * string datasets.  *out is an array of n malloc'd strings; free with sl_h5_strings_free. */
sl_status sl_h5_read_strings(char ***out, int64_t *n, sl_h5_file *f, const char *path, int64_t start,
                             int64_t count);
void      sl_h5_strings_free(char **strs, int64_t n);

/* ---- listing ---- */
typedef enum { SL_H5_KIND_GROUP = 0, SL_H5_KIND_DATASET, SL_H5_KIND_OTHER } sl_h5_kind;

typedef struct {
  char       *path;          /* "/features/initial" (malloc'd) */
  const char *name;          /* last component, points into path ("" for the root) */
  sl_h5_kind  kind;          /* OTHER: named datatype, dangling or external link */
  /* datasets only: */
  char        dtype[24];     /* "float32", "float16", "int16", "string", "fixed_string", "compound", ... */
  int         ndim;
  int64_t     shape[SL_MAX_DIMS];
  int64_t     maxshape[SL_MAX_DIMS];  /* SL_H5_UNLIMITED for unlimited dims */
  int         chunked;
  int64_t     chunks[SL_MAX_DIMS];
  char        compression[24];        /* "" (none), "gzip", "szip", "lzf", "filter<id>" */
  int         level;                  /* gzip level, 0 if none */
  int         shuffle;
} sl_h5_info;

sl_status sl_h5_info_get(sl_h5_info *out, sl_h5_file *f, const char *path);  /* free with sl_h5_info_clear */
void      sl_h5_info_clear(sl_h5_info *info);
/* Children of a group sorted by name; recursive: every object below it, depth-first, each group
 * followed by its contents.  Free with sl_h5_infos_free. */
sl_status sl_h5_list(sl_h5_info **out, size_t *n, sl_h5_file *f, const char *path, int recursive);
void      sl_h5_infos_free(sl_h5_info *v, size_t n);

/* ---- attributes (on the file root, groups and datasets) ---- */
typedef enum {
  SL_H5_ATTR_INT = 0,   /* scalar integer (int64) */
  SL_H5_ATTR_FLOAT,     /* scalar float (double) */
  SL_H5_ATTR_STRING,    /* scalar string */
  SL_H5_ATTR_STRINGS,   /* array of strings (flattened) */
  SL_H5_ATTR_ARRAY      /* numeric array of any rank >= 1, as a tensor */
} sl_h5_attr_kind;

typedef struct {
  char           *name;
  sl_h5_attr_kind kind;
  int64_t         i;
  double          d;
  char           *str;
  char          **strs;
  int64_t         nstrs;
  sl_tensor      *array;   /* owned reference */
} sl_h5_attr;

/* Setting replaces an attribute of the same name whatever its old type.  Integers are stored as
 * int64, floats as float64, strings as variable-length UTF-8 (what h5py reads as str). */
sl_status sl_h5_set_attr_int(sl_h5_file *f, const char *path, const char *name, int64_t v);
sl_status sl_h5_set_attr_float(sl_h5_file *f, const char *path, const char *name, double v);
sl_status sl_h5_set_attr_string(sl_h5_file *f, const char *path, const char *name, const char *s);
sl_status sl_h5_set_attr_strings(sl_h5_file *f, const char *path, const char *name,
                                 const char *const *strs, int64_t n);
/* Numeric array with t's shape and dtype (a 0-d tensor gives a scalar). */
sl_status sl_h5_set_attr_array(sl_h5_file *f, const char *path, const char *name, const sl_tensor *t);
sl_status sl_h5_delete_attr(sl_h5_file *f, const char *path, const char *name);
sl_status sl_h5_get_attr(sl_h5_attr *out, sl_h5_file *f, const char *path, const char *name);
/* All attributes of the object, sorted by name.  Free with sl_h5_attrs_free. */
sl_status sl_h5_get_attrs(sl_h5_attr **out, size_t *n, sl_h5_file *f, const char *path);
void      sl_h5_attr_clear(sl_h5_attr *a);
void      sl_h5_attrs_free(sl_h5_attr *a, size_t n);

#endif
