/* feat_frame_catalog.c — names, categories and formula text of the per-frame features.
 *
 * This table is the only place a per-frame feature is named: the kernel (feat_frame.c) writes
 * its values in exactly this order (an assertion there checks the per-category counts),
 * the Lua catalog and the HDF5 `feature_names` come from here, and docs/features.md is
 * generated from the formula text.  Notation used in the formulas (per channel field u, H×W,
 * N = H·W): mean, var (unbiased, ÷(N−1)), pvar/pstd (population, ÷N); q_p = quantile with
 * linear interpolation at rank p·(N−1); Dx, Dy = periodic central differences
 * (u[y,x+1] − u[y,x−1])/2; Lap = periodic 5-point Laplacian (no 1/h²); grid spacing 1 (lengths
 * in cells, frequencies in cycles/sample).  P = |rfft2(u, orthonormal)|² on the H×(W/2+1)
 * half-plane; every non-DC half-plane bin stands for m = 2 full-plane bins except columns 0
 * and W/2 (W even), which stand for themselves (m = 1), so Σ m·P over non-DC bins = N·pvar(u)
 * (Parseval).  "Spectral sums" below are Σ m·P over non-DC bins; fx = kx/W ∈ [0, ½],
 * fy = fftfreq(H) ∈ [−½, ½), ρ = sqrt(fx² + fy²).  "Degenerate" field: pstd ≤ 1e-6·max|u|
 * (or u ≡ 0): moment ratios, correlations and spectral shapes are NaN there. */
#include <string.h>
#include "sl_feat_frame.h"

#define SP SL_FF_SPATIAL
#define SC SL_FF_SPECTRAL
#define CC SL_FF_CROSS_CHANNEL
#define DI SL_FF_DISTRIBUTIONAL
#define ST SL_FF_STRUCTURAL
#define PH SL_FF_PHYSICS
#define MO SL_FF_MORPHOLOGICAL
#define MS SL_FF_MULTISCALE

#define BAND(s, lo, hi) \
  { "fft_power_scale_" #s "_mean", SC, "radial band " #s " of 5 (r = ρ·min(H,W) in cycles per grid, edges e_k = (√0.5 + k/5·(√R − √0.5))², R = max r; band = e_s ≤ r < e_s+1, last band closed): Σ m·P / Σ m over the band (NaN if the band is empty)", "mean power per full-plane bin at " lo " scales" }, \
  { "fft_power_scale_" #s "_max", SC, "max P over the bins of band " #s " (same bands)", "strongest single mode at " hi " scales" }, \
  { "fft_power_scale_" #s "_std", SC, "population std of P over the band's full-plane bins (weights m), in-band bins only", "spread of power between modes of band " #s }

static const sl_feat_frame_desc CATALOG[] = {
  /* ---- spatial (24) ---- */
  { "spatial_mean", SP, "mean(u)", "offset of the field" },
  { "spatial_variance", SP, "var(u) (unbiased)", "heterogeneity of the field" },
  { "spatial_std", SP, "sqrt(var(u))", "amplitude of fluctuations" },
  { "spatial_skewness", SP, "mean((u − mean)³) / pstd³ (population moments); NaN if degenerate", "asymmetry of the value distribution (positive: sparse high peaks)" },
  { "spatial_kurtosis", SP, "mean((u − mean)⁴) / pstd⁴ − 3 (excess, population); NaN if degenerate", "heavy tails / intermittency of values" },
  { "spatial_min", SP, "min(u)", "lowest value" },
  { "spatial_max", SP, "max(u)", "highest value" },
  { "spatial_range", SP, "max(u) − min(u)", "total value span" },
  { "spatial_iqr", SP, "q_0.75(u) − q_0.25(u)", "robust spread" },
  { "spatial_mad", SP, "q_0.5(|u − q_0.5(u)|) (median absolute deviation, no 1.4826 factor)", "robust spread around the median" },
  { "gradient_magnitude_mean", SP, "G = sqrt(Dx² + Dy²); mean(G)", "sharpness of spatial variation (per cell)" },
  { "gradient_magnitude_std", SP, "sqrt(var(G))", "unevenness of sharpness (fronts vs smooth areas)" },
  { "gradient_magnitude_max", SP, "max(G)", "steepest front" },
  { "gradient_x_abs_mean", SP, "mean(|Dx u|) (replaces gradient_x_mean, identically 0 on a periodic grid)", "variation along x (columns)" },
  { "gradient_y_abs_mean", SP, "mean(|Dy u|) (replaces gradient_y_mean, identically 0 on a periodic grid)", "variation along y (rows)" },
  { "gradient_anisotropy", SP, "(a − b)/(a + b) with a = mean|Dx u|, b = mean|Dy u|; in [−1, 1]; NaN if a + b = 0", "positive: structures vary mostly along x (stripes along y)" },
  { "laplacian_abs_mean", SP, "mean(|Lap u|) (replaces laplacian_mean, identically 0 on a periodic grid)", "curvature / small-scale roughness" },
  { "laplacian_std", SP, "sqrt(var(Lap u))", "spread of curvature" },
  { "laplacian_energy", SP, "Σ (Lap u)² / N", "small-scale (diffusive) energy" },
  { "percentile_5", SP, "q_0.05(u)", "low tail level" },
  { "percentile_25", SP, "q_0.25(u)", "lower quartile" },
  { "percentile_50", SP, "q_0.5(u)", "median" },
  { "percentile_75", SP, "q_0.75(u)", "upper quartile" },
  { "percentile_95", SP, "q_0.95(u)", "high tail level" },
  /* ---- spectral (27) ---- */
  BAND(0, "the largest", "the largest"),
  BAND(1, "large", "large"),
  BAND(2, "intermediate", "intermediate"),
  BAND(3, "small", "small"),
  BAND(4, "the smallest", "the smallest"),
  { "dominant_freq_x", SC, "fx of the non-DC half-plane bin with the largest P (first in row-major order on ties); cycles/sample in [0, ½]", "x frequency of the strongest mode (DC excluded)" },
  { "dominant_freq_y", SC, "|fy| of the same bin; cycles/sample in [0, ½]", "y frequency of the strongest mode (DC excluded)" },
  { "spectral_peak_power_ratio", SC, "m*·P* / Σ m·P over non-DC bins, P* = the peak bin's power, m* = 1 for a self-conjugate bin, else 2 (the peak and its mirror); NaN if degenerate (replaces dominant_freq_magnitude)", "how much of the variance one spatial mode holds (1 = a pure plane wave)" },
  { "spectral_centroid_x", SC, "Σ m·P·fx / Σ m·P (non-DC); NaN if degenerate", "mean x frequency of the variance" },
  { "spectral_centroid_y", SC, "Σ m·P·|fy| / Σ m·P (non-DC); NaN if degenerate", "mean y frequency of the variance" },
  { "spectral_bandwidth", SC, "sqrt(Σ m·P·((fx − c_x)² + (|fy| − c_y)²) / Σ m·P) with c = the centroids; NaN if degenerate", "spread of the spectrum around its centroid" },
  { "low_freq_ratio", SC, "Σ m·P over ρ < ⅓·½ / Σ m·P (non-DC; bands as fractions of the Nyquist radius ½); NaN if degenerate", "share of variance in large scales" },
  { "mid_freq_ratio", SC, "Σ m·P over ⅓·½ ≤ ρ < ⅔·½ / Σ m·P; NaN if degenerate", "share of variance in intermediate scales" },
  { "high_freq_ratio", SC, "Σ m·P over ρ ≥ ⅔·½ (corners included) / Σ m·P; NaN if degenerate", "share of variance in small scales (noise, fine structure)" },
  { "spectral_flatness", SC, "exp(Σ m·ln(P + ε) / Σ m) / (Σ m·P / Σ m) over non-DC bins, ε = 1e-6·(Σ m·P / Σ m) (above float32 FFT round-off); in (0, 1]; NaN if degenerate", "1 = white noise, near 0 = a few modes" },
  { "spectral_rolloff", SC, "smallest ρ such that the non-DC bins with radial frequency ≤ ρ hold ≥ 85 % of Σ m·P; cycles/sample; NaN if degenerate", "frequency below which most variance lies" },
  { "spectral_anisotropy", SC, "(Σ m·P·fx² − Σ m·P·fy²) / (Σ m·P·fx² + Σ m·P·fy²) (non-DC), in [−1, 1]; NaN if degenerate", "positive: spectral energy at high x wavenumbers (structures elongated along y)" },
  /* ---- cross_channel (12), per frame over the C channels ---- */
  { "cross_channel_eigen_top_1", CC, "λ1 of R, R_ij = mean(z_i z_j), z_c = (u_c − mean)/pstd(u_c) (diagonal exactly 1, trace C); NaN if C < 2; every cross_channel correlation feature is NaN when a channel is degenerate or non-finite", "variance share (×C) of the dominant channel mode" },
  { "cross_channel_eigen_top_2", CC, "λ2 of R (eigenvalues descending); NaN if C < 2", "second channel mode" },
  { "cross_channel_eigen_top_3", CC, "λ3 of R; NaN if C < 3", "third channel mode" },
  { "cross_channel_eigen_entropy", CC, "−Σ (λ_i/C)·ln(λ_i/C) / ln C (λ clipped at 0); in [0, 1]; NaN if C < 2 (replaces eigen_trace, which is ≡ C for a correlation matrix)", "1 = independent channels, 0 = one shared pattern" },
  { "cross_channel_log10_condition_number", CC, "log10((λ1 + 1e-6) / (max(λ_C, 0) + 1e-6)); NaN if C < 2 (bounded replacement of the raw condition number)", "how close the channels are to linear dependence" },
  { "cross_channel_participation_ratio", CC, "(Σλ)² / Σλ², in [1, C]; NaN if C < 2", "effective number of independent channel patterns" },
  { "cross_channel_corr_mean", CC, "mean of R_ij over pairs i < j; NaN if C < 2", "average linear coupling between channels" },
  { "cross_channel_corr_max", CC, "max of R_ij over i < j; NaN if C < 2", "strongest positive coupling" },
  { "cross_channel_corr_min", CC, "min of R_ij over i < j; NaN if C < 2", "strongest anti-coupling" },
  { "cross_channel_corr_std", CC, "unbiased std of R_ij over i < j; NaN if fewer than 2 pairs (C < 3)", "unevenness of the couplings" },
  { "cross_channel_mi_mean", CC, "per pair: v = (u − min)/(max − min) (0 for a constant channel), bin = min(⌊16·v⌋, 15), joint histogram p_ab over N pixels, MI = Σ_{p_ab>0} p_ab·ln(p_ab/(p_a·p_b)) in nats; mean over pairs i < j; NaN if C < 2", "average nonlinear dependence between channels" },
  { "cross_channel_mi_max", CC, "max of the pair MI; NaN if C < 2", "strongest nonlinear dependence" },
  /* ---- distributional (5) ---- */
  { "histogram_entropy", DI, "32 equal-width bins on [min u, max u], bin = min(⌊32·(u − min)/(max − min)⌋, 31) (all in bin 0 if max = min); p = counts/N; −Σ_{p>0} p·ln p / ln 32, in [0, 1]", "spread of the value distribution (1 = uniform use of the range)" },
  { "histogram_peak_fraction", DI, "max p of the same 32-bin histogram", "share of pixels in the most common value range" },
  { "spectral_entropy", DI, "p = m·P / Σ m·P over non-DC half-plane bins; −Σ_{p>0} p·ln(p/m) / ln(N − 1) (Shannon entropy over the N − 1 non-DC full-plane bins, normalised); NaN if degenerate", "1 = variance spread over all modes, 0 = a single mode" },
  { "bimodality_coefficient", DI, "(g1² + 1) / (g2 + 3(N−1)²/((N−2)(N−3))) with g1, g2 = spatial_skewness, spatial_kurtosis; NaN if degenerate", "> 5/9 suggests a two-phase (bimodal) field" },
  { "tail_mass_3sigma", DI, "fraction of pixels with |u − mean| > 3·pstd; NaN if degenerate", "frequency of extreme values (Gaussian: 0.0027)" },
  /* ---- structural (5), on the mask b = u > mean + 0.5·pstd ---- */
  { "num_connected_components", ST, "number of 4-connected components of b on the periodic grid (union-find)", "fragmentation of high-value regions" },
  { "component_size_mean", ST, "Σb / number of components (cells); NaN if b is empty", "typical size of high-value regions" },
  { "largest_component_fraction", ST, "size of the largest component / Σb; NaN if b is empty", "1 = one connected (percolating) high region" },
  { "interface_density", ST, "number of periodic 4-neighbour pairs (right and down) with b different / (2N)", "amount of boundary between high and low regions" },
  { "edge_density", ST, "fraction of pixels with G > gradient_magnitude_mean + gradient_magnitude_std", "share of the field covered by sharp fronts" },
  /* ---- physics (5) ---- */
  { "correlation_length", PH, "ACF_x(d) = Σ m·P·cos(2π·fx·d) / Σ m·P (non-DC; the circular autocorrelation of u − mean along x), ACF_y likewise with fy; ℓ = first d with ACF(d) < 1/e, linearly interpolated between d−1 and d, or ⌊n/2⌋ if never (n = W or H); value (ℓ_x + ℓ_y)/2 in cells; NaN if degenerate", "size of coherent structures" },
  { "structure_factor_peak_freq", PH, "radial shells j = ⌊ρ·G + ½⌋, G = min(H, W), j = 1…⌊G/2⌋; S(j) = Σ m·P / Σ m per shell; j* = first argmax; value j*/G in cycles/sample; NaN if degenerate", "frequency of the dominant isotropic length scale (pattern wavelength = 1/value)" },
  { "spectral_slope", PH, "OLS slope of ln S(j) on ln(j/G) over the shells with S(j) ≥ 1e-8·max S (smaller ones are FFT round-off; needs ≥ 3 shells); NaN if degenerate", "power-law exponent of the radial spectrum (−2: smooth, 0: white)" },
  { "gradient_energy_ratio", PH, "mean(Dx² + Dy²) / pvar(u) (cells⁻²); NaN if degenerate", "squared inverse Taylor microscale: high = variance at fine scales" },
  { "mean_energy_fraction", PH, "mean² / (mean² + pvar(u)); NaN if u ≡ 0 (replaces density_fluctuation = var/mean², unbounded for zero-mean fields)", "share of the field's energy in its mean (1 = uniform)" },
  /* ---- morphological (4), same mask b as structural ---- */
  { "area_fraction", MO, "Σb / N", "coverage of high-value regions" },
  { "interior_fraction", MO, "|erosion of b by the 3×3 square (periodic)| / Σb; NaN if b is empty", "1 = thick blobs, 0 = thin filaments / isolated pixels" },
  { "dilation_ratio", MO, "|dilation of b by the 3×3 square (periodic)| / Σb; NaN if b is empty", "growth under one-cell dilation: high = fragmented or filamentary" },
  { "isoperimetric_ratio", MO, "4π·Σb / E², E = number of periodic 4-neighbour pairs with b different (perimeter in cell edges); NaN if E = 0", "compactness of high regions (rounder = higher)" },
  /* ---- multiscale (5), Haar-style 2×2 block means ---- */
  { "wavelet_energy_level_1", MS, "a_0 = u, a_k = 2×2 block means of a_(k−1) (odd last row/column dropped); V_k = pvar(a_k); (V_0 − V_1)/V_0; NaN if degenerate", "share of variance at the 1–2 cell scale" },
  { "wavelet_energy_level_2", MS, "(V_1 − V_2)/V_0; NaN if degenerate or a_2 is empty", "share of variance at the 2–4 cell scale" },
  { "wavelet_energy_level_3", MS, "(V_2 − V_3)/V_0; NaN if degenerate or a_3 is empty", "share of variance at the 4–8 cell scale" },
  { "wavelet_energy_level_4", MS, "(V_3 − V_4)/V_0; NaN if degenerate or a_4 is empty", "share of variance at the 8–16 cell scale" },
  { "wavelet_residual_fraction", MS, "V_4/V_0; NaN if degenerate or a_4 is empty", "share of variance at scales above 16 cells" },
};

static const char *CATEGORY_NAMES[SL_FF_NCAT] = {
  "spatial", "spectral", "cross_channel", "distributional",
  "structural", "physics", "morphological", "multiscale"
};

const sl_feat_frame_desc *sl_feat_frame_catalog(int *n) {
  if (n) *n = (int)(sizeof CATALOG / sizeof CATALOG[0]);
  return CATALOG;
}

const char *sl_feat_frame_category_name(int category) {
  return category >= 0 && category < SL_FF_NCAT ? CATEGORY_NAMES[category] : NULL;
}

int sl_feat_frame_category_from_name(const char *name) {
  for (int c = 0; name && c < SL_FF_NCAT; c++)
    if (strcmp(name, CATEGORY_NAMES[c]) == 0) return c;
  return -1;
}

int sl_feat_frame_width(unsigned mask) {
  int n, w = 0;
  const sl_feat_frame_desc *d = sl_feat_frame_catalog(&n);
  for (int i = 0; i < n; i++) w += (mask >> d[i].category) & 1u;
  return w;
}
