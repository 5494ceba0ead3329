#!/usr/bin/python3
"""feat_frame_ref.py — independent numpy reference for the per-frame features (developer-only).

Computes every catalog feature from its formula text (engine/core/feat_frame_catalog.c) with a
deliberately different route from the C kernel where one exists:
  * spectra from the FULL-plane numpy fft2 (float64), not the half-plane with multiplicities;
  * autocorrelations in real space with np.roll, not from marginal spectra;
  * quantiles with np.quantile, eigenvalues with np.linalg.eigvalsh;
  * connected components by breadth-first search, morphology with np.roll shifts.
Writes spec/fixtures/feat_frame_golden.lua: the input fields (float32 values) and the expected
[M,T,D] outputs; spec/feat_frame_spec.lua compares them with per-feature tolerances.

Run from the repository root:  /usr/bin/python3 tools/ref/feat_frame_ref.py
"""
import math
import re
from collections import deque

import numpy as np

NAN = float("nan")


def catalog_names():
    src = open("engine/core/feat_frame_catalog.c", encoding="utf-8").read()
    names = []
    body = src[src.index("static const sl_feat_frame_desc CATALOG[]"):]
    for line in body.splitlines():
        m = re.match(r'\s*\{ "([a-z0-9_]+)", [A-Z][A-Z],', line)
        if m:
            names.append(m.group(1))
        m = re.match(r'\s*BAND\((\d),', line)
        if m:
            s = m.group(1)
            names += ["fft_power_scale_%s_mean" % s, "fft_power_scale_%s_max" % s, "fft_power_scale_%s_std" % s]
    return names


def quant(a, p):
    return float(np.quantile(a, p))  # numpy default: linear interpolation


def components(b):
    """4-connected components of a boolean mask on a torus, by BFS: list of sizes."""
    H, W = b.shape
    seen = np.zeros_like(b, dtype=bool)
    sizes = []
    for y in range(H):
        for x in range(W):
            if b[y, x] and not seen[y, x]:
                q = deque([(y, x)])
                seen[y, x] = True
                n = 0
                while q:
                    cy, cx = q.popleft()
                    n += 1
                    for ny, nx in ((cy + 1) % H, cx), ((cy - 1) % H, cx), (cy, (cx + 1) % W), (cy, (cx - 1) % W):
                        if b[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            q.append((ny, nx))
                sizes.append(n)
    return sizes


def channel(u32):
    u = u32.astype(np.float64)
    H, W = u.shape
    N = H * W
    f = {}
    mean = float(u.sum() / N)
    d = u - mean
    pvar = float((d * d).mean())
    pstd = math.sqrt(pvar)
    maxabs = float(np.abs(u).max())
    ok = maxabs > 0 and pstd > 1e-6 * maxabs
    g1 = float((d ** 3).mean() / pstd ** 3) if ok else NAN
    g2 = float((d ** 4).mean() / pvar ** 2 - 3) if ok else NAN
    mn, mx = float(u.min()), float(u.max())

    # spatial
    f["spatial_mean"] = mean
    f["spatial_variance"] = float(u.var(ddof=1))
    f["spatial_std"] = float(u.std(ddof=1))
    f["spatial_skewness"] = g1
    f["spatial_kurtosis"] = g2
    f["spatial_min"], f["spatial_max"], f["spatial_range"] = mn, mx, mx - mn
    f["spatial_iqr"] = quant(u, 0.75) - quant(u, 0.25)
    med = quant(u, 0.5)
    f["spatial_mad"] = quant(np.abs(u - med), 0.5)
    dx = (np.roll(u, -1, axis=1) - np.roll(u, 1, axis=1)) * 0.5
    dy = (np.roll(u, -1, axis=0) - np.roll(u, 1, axis=0)) * 0.5
    lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
    G = np.sqrt(dx * dx + dy * dy)
    f["gradient_magnitude_mean"] = float(G.mean())
    f["gradient_magnitude_std"] = float(G.std(ddof=1))
    f["gradient_magnitude_max"] = float(G.max())
    a, b_ = float(np.abs(dx).mean()), float(np.abs(dy).mean())
    f["gradient_x_abs_mean"], f["gradient_y_abs_mean"] = a, b_
    f["gradient_anisotropy"] = (a - b_) / (a + b_) if a + b_ > 0 else NAN
    f["laplacian_abs_mean"] = float(np.abs(lap).mean())
    f["laplacian_std"] = float(lap.std(ddof=1))
    f["laplacian_energy"] = float((lap ** 2).sum() / N)
    for p in (5, 25, 50, 75, 95):
        f["percentile_%d" % p] = quant(u, p / 100)

    # spectra on the full plane (float64)
    F = np.fft.fft2(u, norm="ortho")
    P = (np.abs(F) ** 2)
    fy = np.fft.fftfreq(H)[:, None] * np.ones((1, W))
    fxs = np.fft.fftfreq(W)[None, :] * np.ones((H, 1))
    fx = np.abs(fxs)
    afy = np.abs(fy)
    rho = np.sqrt(fx ** 2 + fy ** 2)
    nondc = np.ones((H, W), dtype=bool)
    nondc[0, 0] = False
    Pn, rhon = P[nondc], rho[nondc]
    tot = float(Pn.sum())
    Gm = min(H, W)
    r = rho * Gm
    R = float(r.max())
    e = [(math.sqrt(0.5) + s / 5 * (math.sqrt(R) - math.sqrt(0.5))) ** 2 for s in range(6)]
    for s in range(5):
        inb = nondc & (r >= e[s]) & ((r < e[s + 1]) | ((s == 4) & (r <= R)))
        if inb.sum() == 0:
            f["fft_power_scale_%d_mean" % s] = f["fft_power_scale_%d_max" % s] = f["fft_power_scale_%d_std" % s] = NAN
        else:
            f["fft_power_scale_%d_mean" % s] = float(P[inb].mean())
            f["fft_power_scale_%d_max" % s] = float(P[inb].max())
            f["fft_power_scale_%d_std" % s] = float(P[inb].std())
    spec_names = ["dominant_freq_x", "dominant_freq_y", "spectral_peak_power_ratio", "spectral_centroid_x",
                  "spectral_centroid_y", "spectral_bandwidth", "low_freq_ratio", "mid_freq_ratio",
                  "high_freq_ratio", "spectral_flatness", "spectral_rolloff", "spectral_anisotropy"]
    for n in spec_names:
        f[n] = NAN
    f["spectral_entropy"] = NAN
    if ok and tot > 0:
        Pm = np.where(nondc, P, -1.0)
        k = int(np.argmax(Pm))
        ky, kx = divmod(k, W)
        f["dominant_freq_x"] = float(fx[ky, kx])
        f["dominant_freq_y"] = float(afy[ky, kx])
        my, mx_ = (-ky) % H, (-kx) % W
        pair = P[ky, kx] + (P[my, mx_] if (my, mx_) != (ky, kx) else 0.0)
        f["spectral_peak_power_ratio"] = float(pair / tot)
        cx = float((P * fx)[nondc].sum() / tot)
        cy = float((P * afy)[nondc].sum() / tot)
        f["spectral_centroid_x"], f["spectral_centroid_y"] = cx, cy
        f["spectral_bandwidth"] = math.sqrt(float((P * ((fx - cx) ** 2 + (afy - cy) ** 2))[nondc].sum() / tot))
        nu = rhon / 0.5
        f["low_freq_ratio"] = float(Pn[nu < 1 / 3].sum() / tot)
        f["mid_freq_ratio"] = float(Pn[(nu >= 1 / 3) & (nu < 2 / 3)].sum() / tot)
        f["high_freq_ratio"] = float(Pn[nu >= 2 / 3].sum() / tot)
        meanP = tot / (N - 1)
        f["spectral_flatness"] = math.exp(float(np.log(Pn + 1e-6 * meanP).mean())) / meanP
        order = np.argsort(rhon, kind="stable")
        cum = np.cumsum(Pn[order])
        i = int(np.argmax(cum >= 0.85 * tot))
        f["spectral_rolloff"] = float(rhon[order][i])
        sx2 = float((P * fx ** 2)[nondc].sum())
        sy2 = float((P * fy ** 2)[nondc].sum())
        f["spectral_anisotropy"] = (sx2 - sy2) / (sx2 + sy2)
        q = Pn / tot
        q = q[q > 0]
        f["spectral_entropy"] = float(-(q * np.log(q)).sum() / math.log(N - 1))

    # distributional
    span = mx - mn
    if span > 0:
        bins = np.minimum(np.floor(32 * ((u - mn) / span)), 31).astype(int)
    else:
        bins = np.zeros(u.shape, dtype=int)
    p = np.bincount(bins.ravel(), minlength=32) / N
    pp = p[p > 0]
    f["histogram_entropy"] = float(-(pp * np.log(pp)).sum() / math.log(32))
    f["histogram_peak_fraction"] = float(p.max())
    f["bimodality_coefficient"] = (g1 ** 2 + 1) / (g2 + 3 * (N - 1) ** 2 / ((N - 2) * (N - 3))) if ok else NAN
    f["tail_mass_3sigma"] = float((np.abs(u - mean) > 3 * pstd).mean()) if ok else NAN

    # structural
    b = u > mean + 0.5 * pstd
    sizes = components(b)
    area = int(b.sum())
    f["num_connected_components"] = float(len(sizes))
    f["component_size_mean"] = area / len(sizes) if area else NAN
    f["largest_component_fraction"] = max(sizes) / area if area else NAN
    E = int((b != np.roll(b, -1, 1)).sum() + (b != np.roll(b, -1, 0)).sum())
    f["interface_density"] = E / (2 * N)
    f["edge_density"] = float((G > G.mean() + G.std(ddof=1)).mean())

    # physics
    if ok:
        ell = []
        for axis, n in ((1, W), (0, H)):
            prev, val = 1.0, float(n // 2)
            for dd in range(1, n // 2 + 1):
                acf = float((d * np.roll(d, -dd, axis=axis)).mean() / pvar)
                if acf < math.exp(-1):
                    val = (dd - 1) + (prev - math.exp(-1)) / (prev - acf)
                    break
                prev = acf
            ell.append(val)
        f["correlation_length"] = 0.5 * (ell[0] + ell[1])
        j = np.floor(rho * Gm + 0.5).astype(int)
        S = {}
        for jj in range(1, Gm // 2 + 1):
            sel = nondc & (j == jj)
            if sel.any():
                S[jj] = float(P[sel].mean())
        jbest = max(S, key=lambda k: (S[k], -k))
        f["structure_factor_peak_freq"] = jbest / Gm
        smax = S[jbest]
        xs = [math.log(k / Gm) for k in sorted(S) if S[k] >= 1e-8 * smax and S[k] > 0]
        ys = [math.log(S[k]) for k in sorted(S) if S[k] >= 1e-8 * smax and S[k] > 0]
        f["spectral_slope"] = float(np.polyfit(xs, ys, 1)[0]) if len(xs) >= 3 else NAN
        f["gradient_energy_ratio"] = float((dx * dx + dy * dy).mean() / pvar)
    else:
        for n in ("correlation_length", "structure_factor_peak_freq", "spectral_slope", "gradient_energy_ratio"):
            f[n] = NAN
    f["mean_energy_fraction"] = mean ** 2 / (mean ** 2 + pvar) if mean ** 2 + pvar > 0 else NAN

    # morphological
    f["area_fraction"] = area / N
    shifts = [np.roll(np.roll(b, sy, 0), sx, 1) for sy in (-1, 0, 1) for sx in (-1, 0, 1)]
    ero = np.logical_and.reduce(shifts)
    dil = np.logical_or.reduce(shifts)
    f["interior_fraction"] = float(ero.sum() / area) if area else NAN
    f["dilation_ratio"] = float(dil.sum() / area) if area else NAN
    f["isoperimetric_ratio"] = 4 * math.pi * area / E ** 2 if E else NAN

    # multiscale
    if ok:
        V = [pvar]
        a_ = u
        for _ in range(4):
            h2, w2 = a_.shape[0] // 2, a_.shape[1] // 2
            if h2 < 1 or w2 < 1:
                V.append(NAN)
                continue
            a_ = a_[:2 * h2, :2 * w2].reshape(h2, 2, w2, 2).mean(axis=(1, 3))
            V.append(float(a_.var()))
        for l in range(1, 5):
            f["wavelet_energy_level_%d" % l] = (V[l - 1] - V[l]) / V[0]
        f["wavelet_residual_fraction"] = V[4] / V[0]
    else:
        for l in range(1, 5):
            f["wavelet_energy_level_%d" % l] = NAN
        f["wavelet_residual_fraction"] = NAN
    return f, ok


def cross(chans, oks):
    C = len(chans)
    names = ["cross_channel_eigen_top_1", "cross_channel_eigen_top_2", "cross_channel_eigen_top_3",
             "cross_channel_eigen_entropy", "cross_channel_log10_condition_number",
             "cross_channel_participation_ratio", "cross_channel_corr_mean", "cross_channel_corr_max",
             "cross_channel_corr_min", "cross_channel_corr_std", "cross_channel_mi_mean", "cross_channel_mi_max"]
    f = {n: NAN for n in names}
    if C < 2:
        return f
    us = [c.astype(np.float64) for c in chans]
    N = us[0].size
    bins = []
    for u in us:
        mn, span = u.min(), u.max() - u.min()
        bins.append((np.minimum(np.floor(16 * ((u - mn) / span)), 15) if span > 0 else np.zeros(u.shape)).astype(int).ravel())
    mis = []
    for i in range(C):
        for j in range(i + 1, C):
            joint = np.zeros((16, 16))
            np.add.at(joint, (bins[i], bins[j]), 1)
            pj = joint / N
            pa, pb = pj.sum(1), pj.sum(0)
            nz = pj > 0
            mis.append(float((pj[nz] * np.log(pj[nz] / np.outer(pa, pb)[nz])).sum()))
    f["cross_channel_mi_mean"], f["cross_channel_mi_max"] = float(np.mean(mis)), float(np.max(mis))
    if not all(oks):
        return f
    Z = np.stack([(u - u.mean()) / u.std() for u in us]).reshape(C, -1)
    R = Z @ Z.T / N
    np.fill_diagonal(R, 1.0)
    lam = np.sort(np.linalg.eigvalsh(R))[::-1]
    for k in range(min(3, C)):
        f["cross_channel_eigen_top_%d" % (k + 1)] = float(lam[k])
    pl = np.clip(lam, 0, None) / C
    pl = pl[pl > 0]
    f["cross_channel_eigen_entropy"] = float(-(pl * np.log(pl)).sum() / math.log(C))
    f["cross_channel_log10_condition_number"] = math.log10((lam[0] + 1e-6) / (max(lam[-1], 0) + 1e-6))
    f["cross_channel_participation_ratio"] = float(lam.sum() ** 2 / (lam ** 2).sum())
    iu = np.triu_indices(C, 1)
    rs = R[iu]
    f["cross_channel_corr_mean"], f["cross_channel_corr_max"], f["cross_channel_corr_min"] = \
        float(rs.mean()), float(rs.max()), float(rs.min())
    f["cross_channel_corr_std"] = float(rs.std(ddof=1)) if len(rs) >= 2 else NAN
    return f


def frame(x, names):
    per = [channel(x[c]) for c in range(x.shape[0])]
    out = {}
    for n in names:
        if n.startswith("cross_channel_"):
            continue
        # mean over the channels where the value is defined (NaN only when none is)
        vals = [p[0][n] for p in per if np.isfinite(p[0][n])]
        out[n] = float(np.mean(vals)) if vals else NAN
    out.update(cross([x[c] for c in range(x.shape[0])], [p[1] for p in per]))
    return [out[n] for n in names]


def make_fields():
    G = 16
    y, x = np.mgrid[0:G, 0:G].astype(np.float64)
    rng = np.random.default_rng(7)
    const = np.stack([np.full((G, G), 1.5), np.zeros((G, G)), np.full((G, G), -2.0)])
    sinus = np.stack([np.sin(2 * np.pi * 2 * x / G),
                      np.cos(2 * np.pi * 3 * y / G) + 0.25 * np.sin(2 * np.pi * x / G),
                      np.sin(2 * np.pi * (x + 2 * y) / G) + 0.3])

    def blob(cy, cx, sy, sx, amp):
        return amp * np.exp(-0.5 * (((y - cy) / sy) ** 2 + ((x - cx) / sx) ** 2))
    blobs = np.stack([blob(6.3, 9.1, 2.2, 3.1, 1.0),
                      blob(4.0, 4.5, 1.5, 2.5, 2.0) + blob(11.2, 12.0, 2.0, 1.2, 1.0),
                      -blob(8.4, 7.7, 3.3, 1.9, 0.5) + 0.1])
    noise = rng.standard_normal((3, G, G))
    # a short "trajectory": noise relaxing by periodic smoothing, plus a drifting blob
    def smooth(f, k):
        for _ in range(k):
            f = 0.2 * (f + np.roll(f, 1, 0) + np.roll(f, -1, 0) + np.roll(f, 1, 1) + np.roll(f, -1, 1))
        return f
    base = rng.standard_normal((3, G, G))
    t1 = np.stack([smooth(base[c], 2) for c in range(3)]) + blob(5.0, 5.0, 2.0, 2.7, 1.0)[None]
    t2 = np.stack([smooth(base[c], 5) for c in range(3)]) + blob(6.5, 6.0, 2.0, 2.7, 1.0)[None]
    a = np.stack([np.stack([const, sinus, blobs]), np.stack([noise, t1, t2])]).astype(np.float32)
    b = rng.standard_normal((1, 1, 3, 12, 15)).astype(np.float32)
    b[0, 0, 1] = (b[0, 0, 1] * 0.3 + np.sin(2 * np.pi * 2 * np.arange(15) / 15)[None, :]).astype(np.float32)
    c = rng.standard_normal((1, 2, 1, 8, 10)).astype(np.float32)
    return [("square16", a), ("rect12x15", b), ("onechannel8x10", c)]


def lua_num(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return repr(float(v)) if not float(v).is_integer() else "%d" % int(v)


def main():
    names = catalog_names()
    assert len(names) == 87, len(names)
    lines = ["-- Generated by tools/ref/feat_frame_ref.py (numpy %s); do not edit." % np.__version__,
             "-- inputs: float32 values of traj [M,T,C,H,W] in row-major order; expected: [M,T,D].",
             "local nan = 0/0", "return {", "  names = {"]
    lines += ['    "%s",' % n for n in names]
    lines.append("  },")
    lines.append("  cases = {")
    for label, x in make_fields():
        M, T = x.shape[:2]
        lines.append('    { label = "%s", shape = {%s},' % (label, ", ".join(str(s) for s in x.shape)))
        lines.append("      input = {")
        flat = x.ravel()
        for i in range(0, flat.size, 8):
            lines.append("        " + ", ".join("%.9g" % v for v in flat[i:i + 8]) + ",")
        lines.append("      },")
        lines.append("      expected = {")
        for m in range(M):
            for t in range(T):
                vals = frame(x[m, t], names)
                lines.append("        { " + ", ".join(lua_num(v) for v in vals) + " },")
        lines.append("      },")
        lines.append("    },")
    lines.append("  },")
    lines.append("}")
    with open("spec/fixtures/feat_frame_golden.lua", "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print("wrote spec/fixtures/feat_frame_golden.lua")


if __name__ == "__main__":
    main()
