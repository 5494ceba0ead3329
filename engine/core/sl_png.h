/* sl_png.h — colour-mapped PNG images of fields (libpng), for `spinlock visualize-dataset` and
 * analysis scripts.
 *
 * Two steps: sl_png_colorize turns a 2-D field into an 8-bit RGB image through a perceptual
 * colormap (viridis for magnitudes, Moreland's cool-warm for signed data), optionally enlarged by
 * pixel replication; sl_png_write writes a uint8 [H,W], [H,W,3] or [H,W,4] image as an 8-bit
 * grey, RGB or RGBA PNG.  Callers compose grids of tiles in between with ordinary tensor views. */
#ifndef SL_PNG_H
#define SL_PNG_H

#include "sl_tensor.h"

typedef enum { SL_CMAP_VIRIDIS = 0, SL_CMAP_COOLWARM, SL_CMAP_GRAY, SL_CMAP_COUNT } sl_png_cmap;

/* "viridis", "coolwarm" (alias "diverging"), "gray" (alias "grey"). */
sl_status sl_png_cmap_lookup(sl_png_cmap *out, const char *name);
const char *sl_png_cmap_name(sl_png_cmap cm);
/* The 256 x 3 table of a colormap (entry 0 = vmin, 255 = vmax). */
const unsigned char *sl_png_cmap_table(sl_png_cmap cm);

/* Colour used for NaN samples (magenta: never produced by the maps, so diverged regions stand out).
 * +/-inf clip to the ends of the map like any value outside [vmin, vmax]. */
#define SL_PNG_NAN_R 255
#define SL_PNG_NAN_G 0
#define SL_PNG_NAN_B 255

/* x: any real 2-D tensor [H,W] (any dtype and strides).  out: new uint8 [H*scale, W*scale, 3].
 * Value v maps to entry round(255 * (v - vmin) / (vmax - vmin)), clamped; vmin = vmax maps
 * everything to the middle entry.  A NaN vmin or vmax means "the finite minimum / maximum of x"
 * (a field with no finite value then uses [0, 1]).  scale >= 1 replicates pixels. */
sl_status sl_png_colorize(sl_tensor **out, const sl_tensor *x, double vmin, double vmax,
                          sl_png_cmap cm, int scale);

/* img: uint8 [H,W] (grey), [H,W,3] (RGB) or [H,W,4] (RGBA), any strides.  Overwrites path. */
sl_status sl_png_write(const char *path, const sl_tensor *img);

#endif
