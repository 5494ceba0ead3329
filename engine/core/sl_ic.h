/* sl_ic.h — initial-condition (IC) generators: one field [C=3, G, G] float32 per operator.
 *
 * Every generator of spec/generation.md §4 (baseline and the 21 domain ICs) is registered in a
 * table with a strict parameter schema (name, kind, default, allowed range).  A generator is a
 * pure function of (parameters, Philox stream): all randomness comes from the stream, so with
 * the stream built by sl_ic_stream(seed, operator index) the IC depends only on
 * (seed, operator index, generator, parameters) — never on batching or thread count.
 *
 * Conventions (docs/initial-conditions.md has the full table):
 *  - pixel coordinates x (column), y (row) in 0..G-1; length parameters documented "px" are in
 *    pixels, those documented "domain" are fractions of the domain side; spectral wavenumbers
 *    are in cycles per domain (the reference's cycles-per-pixel defect, spec §9.5, is fixed).
 *  - normalisation: generators flagged `standardized` end with each channel rescaled to zero
 *    mean and variance = their `variance` parameter (a constant channel is left at 0); the
 *    others produce bounded / physically scaled patterns that are returned as generated.
 *
 * Typical use:
 *     sl_ic_params p;  int id;
 *     SL_TRY(sl_ic_lookup("gaussian_random_field", &id));
 *     sl_ic_params_default(&p, id);
 *     double L = 0.05;  SL_TRY(sl_ic_params_set(&p, "length_scale", 1, &L));
 *     SL_TRY(sl_ic_generate(out, &p, seed, op_index));    // out: float32 [3,G,G]
 */
#ifndef SL_IC_H
#define SL_IC_H

#include "sl_tensor.h"
#include "sl_rng.h"
#include "sl_purpose.h"

#define SL_IC_CHANNELS   3
#define SL_IC_MAX_PARAMS 8
#define SL_IC_MAX_LIST   8
#define SL_IC_MIN_GRID   8

typedef enum {
  SL_IC_NUMBER,   /* one real number */
  SL_IC_INTEGER,  /* one integer */
  SL_IC_CHOICE,   /* one option name from `options`; stored as its index */
  SL_IC_CHOICES,  /* 1..SL_IC_MAX_LIST option names (a subset/multiset); stored as indices */
  SL_IC_LIST,     /* 1..SL_IC_MAX_LIST real numbers */
  SL_IC_RANGE     /* two real numbers lo <= hi */
} sl_ic_kind;

typedef struct {
  const char *name;
  sl_ic_kind  kind;
  double      lo, hi;                /* every number (or integer) must lie in [lo, hi] */
  int         nullable;              /* may be unset (YAML null): the generator then draws it */
  int         ndef;                  /* number of default values; 0 = unset by default */
  double      def[SL_IC_MAX_LIST];   /* defaults (option indices for CHOICE/CHOICES) */
  const char *options;               /* CHOICE/CHOICES: "a|b|c" */
  const char *doc;                   /* one line, with the unit */
} sl_ic_param;

/* One parameter value: n numbers (n = 0: unset).  Choices are stored as option indices. */
typedef struct { int n; double v[SL_IC_MAX_LIST]; } sl_ic_value;

/* A generator id plus a value for each of its parameters (in schema order). */
typedef struct { int gen; sl_ic_value p[SL_IC_MAX_PARAMS]; } sl_ic_params;

/* Cursor over the IC stream handed to a generator (ic_internal.h). */
typedef struct sl_ic_rng sl_ic_rng;

typedef struct {
  const char *name;
  const char *doc;
  int         standardized;          /* 1: per-channel zero mean, variance = param "variance" */
  int         nparams;
  sl_ic_param params[SL_IC_MAX_PARAMS];
  /* Writes the unnormalised field into out [3,G,G] (zero-filled on entry). */
  sl_status (*fill)(float *out, int G, const sl_ic_value *p, sl_ic_rng *r);
} sl_ic_generator;

/* ---- registry ---- */
int                    sl_ic_count(void);
const sl_ic_generator *sl_ic_get(int id);                 /* NULL when out of range */
int                    sl_ic_find(const char *name);      /* -1 when unknown */
/* Like sl_ic_find, but an unknown name is an SL_ERR_ARG naming it. */
sl_status              sl_ic_lookup(const char *name, int *id);
/* Index of parameter `key` of generator `gen`, or -1. */
int                    sl_ic_param_index(int gen, const char *key);
/* Index of option `name` in a CHOICE(S) parameter, or -1. */
int                    sl_ic_option_index(const sl_ic_param *p, const char *name);
/* Writes option number i of p into buf (cap bytes); returns buf, or NULL when i is out of range. */
const char            *sl_ic_option_name(const sl_ic_param *p, int i, char *buf, size_t cap);

/* ---- parameters ---- */
void      sl_ic_params_default(sl_ic_params *p, int gen);
/* Sets a numeric parameter (NUMBER, INTEGER, LIST, RANGE) after validating count and range.
 * n = 0 unsets a nullable parameter.  Errors name the generator and the key. */
sl_status sl_ic_params_set(sl_ic_params *p, const char *key, int n, const double *v);
/* Sets a CHOICE (n = 1) or CHOICES parameter from option names. */
sl_status sl_ic_params_set_options(sl_ic_params *p, const char *key, int n, const char *const *names);

/* ---- choice of the generator ---- */
/* Draws an index from weights w[0..n) (each >= 0, positive sum) with the operator's IC-type
 * stream (SL_RNG_PURPOSE_IC_TYPE, op_index): the same for any batch split. */
sl_status sl_ic_choose(int *out, int n, const double *w, uint64_t seed, uint64_t op_index);

/* ---- generation ---- */
/* The IC stream of an operator: Philox keyed by seed, stream (SL_RNG_PURPOSE_IC, op_index). */
sl_rng_stream sl_ic_stream(uint64_t seed, uint64_t op_index);
/* Fills out[3*G*G] (row-major [3,G,G]) from stream s, normalised per the generator's rule. */
sl_status sl_ic_fill(float *out, int G, const sl_ic_params *p, sl_rng_stream s);
/* out: CPU float32 tensor [3,G,G] (any strides).  Uses sl_ic_stream(seed, op_index). */
sl_status sl_ic_generate(sl_tensor *out, const sl_ic_params *p, uint64_t seed, uint64_t op_index);
/* out: CPU float32 tensor [n,3,G,G]; row i is the IC of (params[i], op_index[i]).  OpenMP over
 * rows; each row equals the one-by-one result bit for bit. */
sl_status sl_ic_generate_batch(sl_tensor *out, int64_t n, const sl_ic_params *const *params,
                               uint64_t seed, const uint64_t *op_index);

#endif
