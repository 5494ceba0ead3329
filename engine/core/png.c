/* png.c — colour mapping of 2-D fields and 8-bit PNG output through libpng (see sl_png.h).
 *
 * Design notes:
 *  - Colormaps are 256-entry tables (png_colormaps.h, transcribed published data), so mapping is
 *    a clamp, a scale and a table look-up per sample; no per-call allocation besides the image.
 *  - Auto range (NaN vmin/vmax) ignores non-finite samples: one diverged pixel must not flatten
 *    the rest of the picture.  NaN itself is painted magenta (not in any map).
 *  - libpng reports errors by longjmp.  The jump target is set in sl_png_write itself and only
 *    libpng frames lie between it and the jump, so no core frame is skipped; everything that must
 *    be freed afterwards is held in volatile locals.  The error text is captured by our error
 *    callback and returned through SL_ERR like any other core error. */
#include "sl_png.h"
#include "png_colormaps.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static unsigned char gray_table[256 * 3];
static int gray_ready;

const unsigned char *sl_png_cmap_table(sl_png_cmap cm)
{
  switch (cm) {
    case SL_CMAP_VIRIDIS: return sl_cmap_viridis;
    case SL_CMAP_COOLWARM: return sl_cmap_coolwarm;
    case SL_CMAP_GRAY:
      if (!gray_ready) {   /* benign race: every writer stores the same bytes */
        for (int i = 0; i < 256; i++) gray_table[3 * i] = gray_table[3 * i + 1] = gray_table[3 * i + 2] = (unsigned char)i;
        gray_ready = 1;
      }
      return gray_table;
    default: return NULL;
  }
}

static const char *const cmap_names[SL_CMAP_COUNT] = { "viridis", "coolwarm", "gray" };

const char *sl_png_cmap_name(sl_png_cmap cm)
{
  return (cm >= 0 && cm < SL_CMAP_COUNT) ? cmap_names[cm] : "?";
}

sl_status sl_png_cmap_lookup(sl_png_cmap *out, const char *name)
{
  if (!name) return SL_ERR(SL_ERR_ARG, "colormap name is missing");
  if (!strcmp(name, "viridis")) { *out = SL_CMAP_VIRIDIS; return SL_OK; }
  if (!strcmp(name, "coolwarm") || !strcmp(name, "diverging")) { *out = SL_CMAP_COOLWARM; return SL_OK; }
  if (!strcmp(name, "gray") || !strcmp(name, "grey")) { *out = SL_CMAP_GRAY; return SL_OK; }
  return SL_ERR(SL_ERR_ARG, "unknown colormap '%s' (expected viridis, coolwarm/diverging or gray)", name);
}

sl_status sl_png_colorize(sl_tensor **out, const sl_tensor *x, double vmin, double vmax,
                          sl_png_cmap cm, int scale)
{
  *out = NULL;
  if (x->ndim != 2)
    return SL_ERR(SL_ERR_SHAPE, "png_colorize: expected a 2-D field [H,W], got a %d-d tensor", (int)x->ndim);
  if (scale < 1 || scale > 64) return SL_ERR(SL_ERR_ARG, "png_colorize: scale must be in 1..64, got %d", scale);
  const unsigned char *tab = sl_png_cmap_table(cm);
  if (!tab) return SL_ERR(SL_ERR_ARG, "png_colorize: bad colormap id %d", (int)cm);
  if (sl_tensor_device(x) != SL_DEV_CPU) return SL_ERR(SL_ERR_DEVICE, "png_colorize: the field must be on the CPU");

  sl_tensor *c = NULL;
  SL_TRY(sl_tensor_contiguous_as(&c, x, SL_DTYPE_F64));
  const double *v = sl_tensor_data(c);
  const int64_t H = x->shape[0], W = x->shape[1], n = H * W;

  if (isnan(vmin) || isnan(vmax)) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
      if (isfinite(v[i])) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; }
    if (lo > hi) { lo = 0; hi = 1; }
    if (isnan(vmin)) vmin = lo;
    if (isnan(vmax)) vmax = hi;
  }

  const int64_t shape[3] = { H * scale, W * scale, 3 };
  sl_tensor *img = NULL;
  sl_status st = sl_tensor_empty(&img, SL_DTYPE_U8, 3, shape);
  if (st != SL_OK) { sl_tensor_release(c); return st; }
  unsigned char *p = sl_tensor_data(img);
  const double span = vmax - vmin;
  const int64_t rowlen = W * scale * 3;
  for (int64_t i = 0; i < H; i++) {
    unsigned char *row = p + i * scale * rowlen;
    for (int64_t j = 0; j < W; j++) {
      const double val = v[i * W + j];
      unsigned char r, g, b;
      if (isnan(val)) {
        r = SL_PNG_NAN_R; g = SL_PNG_NAN_G; b = SL_PNG_NAN_B;
      } else {
        double t = span > 0 ? (val - vmin) / span : 0.5;
        if (!(t > 0)) t = 0;          /* also catches -inf and vmax < vmin oddities */
        if (t > 1) t = 1;
        const int k = (int)(t * 255.0 + 0.5);
        r = tab[3 * k]; g = tab[3 * k + 1]; b = tab[3 * k + 2];
      }
      for (int s = 0; s < scale; s++) {
        unsigned char *q = row + (j * scale + s) * 3;
        q[0] = r; q[1] = g; q[2] = b;
      }
    }
    for (int s = 1; s < scale; s++) memcpy(row + s * rowlen, row, (size_t)rowlen);
  }
  sl_tensor_release(c);
  *out = img;
  return SL_OK;
}

/* libpng error callback: keep the message, then jump back to sl_png_write. */
typedef struct { jmp_buf jb; char msg[200]; } png_err_ctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
  png_err_ctx *e = png_get_error_ptr(png);
  snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "unknown libpng error");
  longjmp(e->jb, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

sl_status sl_png_write(const char *path, const sl_tensor *img)
{
  if (img->ndim != 2 && img->ndim != 3)
    return SL_ERR(SL_ERR_SHAPE, "png_write: expected an image [H,W] or [H,W,C], got a %d-d tensor", (int)img->ndim);
  if (img->dtype != SL_DTYPE_U8)
    return SL_ERR(SL_ERR_DTYPE, "png_write: expected a uint8 image (colorize a field first)");
  const int64_t H = img->shape[0], W = img->shape[1], C = img->ndim == 3 ? img->shape[2] : 1;
  if (C != 1 && C != 3 && C != 4)
    return SL_ERR(SL_ERR_SHAPE, "png_write: expected 1, 3 or 4 channels, got %lld", (long long)C);
  if (H < 1 || W < 1 || H > 0x7fffffff / 4 || W > 0x7fffffff / 4)
    return SL_ERR(SL_ERR_SHAPE, "png_write: image size %lldx%lld is not writable", (long long)H, (long long)W);
  if (sl_tensor_device(img) != SL_DEV_CPU) return SL_ERR(SL_ERR_DEVICE, "png_write: the image must be on the CPU");

  sl_tensor *c = NULL;
  SL_TRY(sl_tensor_contiguous_as(&c, img, SL_DTYPE_U8));
  FILE *volatile fp = fopen(path, "wb");
  if (!fp) {
    sl_tensor_release(c);
    return SL_ERR(SL_ERR_IO, "png_write: cannot open '%s' for writing", path);
  }
  png_err_ctx err;
  err.msg[0] = 0;
  png_structp volatile png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error, png_on_warning);
  png_infop volatile info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    if (png) { png_structp p = png; png_destroy_write_struct(&p, NULL); }
    fclose(fp);
    sl_tensor_release(c);
    return SL_ERR(SL_ERR_OOM, "png_write: libpng could not allocate its state");
  }
  if (setjmp(err.jb)) {
    png_structp p = png; png_infop i = info;
    png_destroy_write_struct(&p, &i);
    fclose(fp);
    sl_tensor_release(c);
    remove(path);
    return SL_ERR(SL_ERR_IO, "png_write: %s: %s", path, err.msg);
  }
  const unsigned char *data = sl_tensor_data(c);
  const int color = C == 1 ? PNG_COLOR_TYPE_GRAY : C == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  png_init_io(png, fp);
  png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, color, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t i = 0; i < H; i++) png_write_row(png, (png_const_bytep)(data + i * W * C));
  png_write_end(png, NULL);
  {
    png_structp p = png; png_infop i = info;
    png_destroy_write_struct(&p, &i);
  }
  sl_tensor_release(c);
  if (fclose(fp) != 0) return SL_ERR(SL_ERR_IO, "png_write: error closing '%s' (disk full?)", path);
  return SL_OK;
}
