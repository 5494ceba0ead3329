/* feat_uf.h — union-find for the connected components of a binary mask, shared by the
 * per-frame (feat_frame.c) and INITIAL (feat_initial.c) kernels so both count clusters by the
 * same rule (not a public header).
 *
 * Path halving on find; the smaller index becomes the root on union, so the forest (and every
 * count derived from it) is deterministic and independent of the visit order. */
#ifndef SL_FEAT_UF_H
#define SL_FEAT_UF_H

#include <stdint.h>

static inline int32_t uf_find(int32_t *p, int32_t i) {
  while (p[i] != i) { p[i] = p[p[i]]; i = p[i]; }
  return i;
}

static inline void uf_union(int32_t *p, int32_t a, int32_t b) {
  a = uf_find(p, a); b = uf_find(p, b);
  if (a < b) p[b] = a; else if (b < a) p[a] = b;
}

#endif
