#!/usr/bin/python3
"""Golden values for the INITIAL manual features and the ARCHITECTURE decoding.

Developer-only (CI never runs it): an independent numpy implementation of the formulas in
engine/core/feat_initial.c's catalog and lua/spinlock/features/architecture.lua, written from the
formula text (full-plane FFT instead of the half plane, BFS components instead of union-find,
LZ76 by its phrase definition instead of the Kaspar-Schuster scan).  Everything is float64 on
float32 inputs.  Writes
  spec/fixtures/feat_initial_golden.lua       (manual features on small deterministic fields)
  spec/fixtures/feat_initial_arch_golden.lua  (architecture columns for fixed unit rows)
Run from the repository root:  /usr/bin/python3 tools/ref/feat_initial_ref.py
"""
import math
from collections import deque

import numpy as np

NAMES = [
    "ic_spatial_cluster_count", "ic_spatial_largest_cluster_frac", "ic_spatial_autocorr",
    "ic_spatial_centroid_dist", "ic_spatial_gradient_mean",
    "ic_spectral_dominant_freq", "ic_spectral_centroid", "ic_spectral_power_law_exp",
    "ic_info_entropy", "ic_info_local_entropy_var", "ic_info_lz_complexity", "ic_info_predictability",
    "ic_morph_density", "ic_morph_symmetry",
]


def components(b):
    """4-connected components on the periodic grid by BFS: (count, largest size)."""
    H, W = b.shape
    seen = np.zeros_like(b, dtype=bool)
    count, largest = 0, 0
    for y in range(H):
        for x in range(W):
            if not b[y, x] or seen[y, x]:
                continue
            count += 1
            size = 0
            q = deque([(y, x)])
            seen[y, x] = True
            while q:
                cy, cx = q.popleft()
                size += 1
                for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    ny, nx = (cy + dy) % H, (cx + dx) % W
                    if b[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        q.append((ny, nx))
            largest = max(largest, size)
    return count, largest


def lz76(s):
    """Lempel-Ziv 1976 phrase count by definition: each phrase is the shortest word starting at
    the current position that is not a substring of everything before its last symbol."""
    s = bytes(s)
    n, i, c = len(s), 0, 0
    while i < n:
        L = 1
        while i + L <= n and s[0:i + L - 1].find(s[i:i + L]) >= 0:
            L += 1
        c += 1
        i += L
    return c


def entropy_bits(counts, nb):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum() / math.log2(nb))


def manual(u):
    u = u.astype(np.float64)
    H, W = u.shape
    N = H * W
    out = {k: math.nan for k in NAMES}
    if not np.all(np.isfinite(u)):
        return out
    mean = u.mean()
    mn, mx = u.min(), u.max()
    degen = not (mx > mn)
    c = u - mean
    ss = (c * c).sum()
    b = u > mean
    out["ic_morph_density"] = b.mean()
    n, largest = components(b)
    out["ic_spatial_cluster_count"] = math.log1p(n)
    out["ic_spatial_largest_cluster_frac"] = largest / b.sum() if b.sum() > 0 else math.nan
    out["ic_info_lz_complexity"] = lz76(b.astype(np.uint8).ravel()) * math.log2(N) / N
    gx = 0.5 * (np.roll(u, -1, axis=1) - np.roll(u, 1, axis=1))
    gy = 0.5 * (np.roll(u, -1, axis=0) - np.roll(u, 1, axis=0))
    out["ic_spatial_gradient_mean"] = np.sqrt(gx ** 2 + gy ** 2).mean()
    if not degen and ss > 0:
        L = 0.25 * (np.roll(c, 1, 0) + np.roll(c, -1, 0) + np.roll(c, 1, 1) + np.roll(c, -1, 1))
        out["ic_spatial_autocorr"] = (c * L).sum() / ss
        out["ic_info_predictability"] = abs((c * np.roll(c, 1, axis=1)).sum() / ss)
        if H == W:
            rs = [abs((c * np.rot90(c, k)).sum() / ss) for k in (1, 2, 3)]
            out["ic_morph_symmetry"] = sum(rs) / 3
        else:
            out["ic_morph_symmetry"] = abs((c * np.rot90(c, 2)).sum() / ss)
    w = np.abs(u)
    if w.sum() > 0:
        yy = np.arange(H)[:, None] / (H - 1)
        xx = np.arange(W)[None, :] / (W - 1)
        cy = (w * yy).sum() / w.sum() - 0.5
        cx = (w * xx).sum() / w.sum() - 0.5
        out["ic_spatial_centroid_dist"] = math.sqrt(cy * cy + cx * cx) / (math.sqrt(2) / 2)
    # histograms
    if degen:
        v = np.zeros_like(u)
    else:
        v = (u - mn) / (mx - mn)
    k = np.minimum(np.floor(v * 32).astype(int), 31)
    out["ic_info_entropy"] = entropy_bits(np.bincount(k.ravel(), minlength=32).astype(float), 32)
    ents = []
    for a in range(0, H - 8 + 1, 4):
        for cc in range(0, W - 8 + 1, 4):
            patch = v[a:a + 8, cc:cc + 8]
            kk = np.minimum(np.floor(patch * 8).astype(int), 7)
            ents.append(entropy_bits(np.bincount(kk.ravel(), minlength=8).astype(float), 8))
    if len(ents) > 1:
        out["ic_info_local_entropy_var"] = float(np.var(ents, ddof=1))
    # spectrum on the full plane
    if not degen:
        P = np.abs(np.fft.fft2(u)) ** 2
        ky = np.fft.fftfreq(H) * H
        kx = np.fft.fftfreq(W) * W
        R = np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)
        mask = R > 0
        Pm = np.where(mask, P, -1.0)
        out["ic_spectral_dominant_freq"] = R.ravel()[np.argmax(Pm.ravel())]
        out["ic_spectral_centroid"] = (P[mask] * R[mask]).sum() / P[mask].sum()
        shells = np.floor(R + 0.5).astype(int)
        X, Y = [], []
        for s in range(1, min(H, W) // 2 + 1):
            sel = shells == s
            if sel.sum() == 0:
                continue
            E = P[sel].mean()
            if E > 0:
                X.append(math.log(s))
                Y.append(math.log(E))
        if len(X) >= 3:
            X, Y = np.array(X), np.array(Y)
            out["ic_spectral_power_law_exp"] = -(((X - X.mean()) * (Y - Y.mean())).sum() / ((X - X.mean()) ** 2).sum())
    return out


def features(ic):
    """ic [C,H,W] -> 14 values, the channel mean over finite values."""
    rows = [manual(ic[c]) for c in range(ic.shape[0])]
    res = []
    for k in NAMES:
        vals = [r[k] for r in rows if math.isfinite(r[k])]
        res.append(sum(vals) / len(vals) if vals else math.nan)
    return res


def cases():
    out = []
    # constant channels (one zero channel)
    ic = np.stack([np.full((16, 16), 2.5), np.zeros((16, 16)), np.full((16, 16), -1.0)]).astype(np.float32)
    out.append(("constant", ic, []))
    # sinusoids, with a phase so no value sits on the mean
    y, x = np.mgrid[0:32, 0:32]
    chans = [np.sin(2 * np.pi * k * x / 32 + 0.3) + 0.5 * np.cos(2 * np.pi * y / 32 + 0.7) for k in (1, 3, 5)]
    # the power-law fit of a line spectrum sees only rounding noise between the lines: not comparable
    out.append(("sinusoid", np.stack(chans).astype(np.float32), ["ic_spectral_power_law_exp"]))
    # off-centre Gaussian blob, square and non-square
    for H, W in ((32, 32), (24, 32)):
        yy, xx = np.mgrid[0:H, 0:W]
        blob = np.exp(-(((yy - 0.3 * H) / 3.0) ** 2 + ((xx - 0.65 * W) / 4.0) ** 2) / 2)
        out.append((f"blob_{H}x{W}", blob[None].astype(np.float32), []))
    # seeded white noise
    rng = np.random.default_rng(7)
    out.append(("white_noise", rng.standard_normal((3, 32, 32)).astype(np.float32), []))
    # two-level squares, one wrapping around the periodic boundary
    sq = np.zeros((16, 24))
    sq[2:5, 3:7] = 1
    sq[9:12, 10:13] = 1
    sq[14:16, 20:24] = 1
    sq[0:2, 20:24] = 1      # joins the previous one across the top/bottom edge
    sq[6:8, 0:2] = 1
    sq[6:8, 22:24] = 1      # joins across the left/right edge
    out.append(("squares", np.stack([sq, 1 - sq]).astype(np.float32), []))
    # smooth random field (spectrally filtered noise): a falling spectrum for the power law
    rng = np.random.default_rng(11)
    z = rng.standard_normal((32, 32))
    F = np.fft.fft2(z)
    k = np.sqrt((np.fft.fftfreq(32)[:, None] * 32) ** 2 + (np.fft.fftfreq(32)[None, :] * 32) ** 2)
    F *= 1.0 / (1.0 + k) ** 1.5
    out.append(("smooth_field", np.real(np.fft.ifft2(F))[None].astype(np.float32), []))
    return out


def lua_num(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "1/0" if v > 0 else "-1/0"
    return repr(float(v))


def write_initial(path):
    lines = ["-- Generated by tools/ref/feat_initial_ref.py (numpy %s); do not edit." % np.__version__,
             "-- input: float32 values of one IC [C,H,W], row-major; expected: the 14 manual features.",
             "local nan = 0/0", "return {", "  names = {"]
    lines += ['    "%s",' % n for n in NAMES]
    lines.append("  },")
    lines.append("  cases = {")
    for name, ic, skip in cases():
        vals = features(ic)
        lines.append("    {")
        lines.append('      name = "%s",' % name)
        lines.append("      shape = { %s }," % ", ".join(str(s) for s in ic.shape))
        lines.append("      skip = { %s }," % ", ".join('"%s"' % s for s in skip))
        flat = ic.ravel()
        lines.append("      input = {")
        for i in range(0, flat.size, 8):
            lines.append("        " + ", ".join("%.9g" % float(v) for v in flat[i:i + 8]) + ",")
        lines.append("      },")
        lines.append("      expected = { %s }," % ", ".join(lua_num(v) for v in vals))
        lines.append("    },")
    lines.append("  },")
    lines.append("}")
    open(path, "w").write("\n".join(lines) + "\n")


# ---------------- architecture ----------------

def round_half_even(x):
    return float(np.rint(x))


def decode(p, u, mapping):
    t = p["type"]
    if t == "integer":
        lo, hi = p["bounds"]
        if mapping == "reference_round":
            return min(max(round_half_even(lo + u * (hi - lo)), lo), hi), None
        return min(max(math.floor(lo + u * (hi - lo + 1)), lo), hi), None
    if t == "continuous":
        lo, hi = p["bounds"]
        if p.get("log_scale"):
            a, b = math.log10(lo), math.log10(hi)
            return 10 ** (a + u * (b - a)), None
        return lo + u * (hi - lo), None
    if t == "choice":
        K = len(p["choices"])
        if p.get("weights"):
            cum = np.cumsum(p["weights"])
            i = int(np.searchsorted(cum, u, side="right"))
        else:
            i = int(math.floor(u * K))
        i = min(max(i, 0), K - 1)
        return p["choices"][i], i
    if t == "boolean":
        return u > 0.5, None
    raise ValueError(t)


def arch_columns(space, u, strata, mapping):
    plist = [p for cat in ("architecture", "stochastic", "operator", "evolution") for p in space.get(cat, [])]
    P = len(plist)
    has = {p["name"]: p for p in plist}
    val, idx = {}, {}
    for j, p in enumerate(plist):
        val[p["name"]], idx[p["name"]] = decode(p, u[j], mapping)
    cols = []

    def onehot(prefix, name):
        if name in has:
            for i, c in enumerate(has[name]["choices"]):
                cols.append((prefix + str(c).lower().replace(".", "_"), 1.0 if idx[name] == i else 0.0))

    noisy = "noise_scale" in has and "noise_type" in has
    cols.append(("stoch_noise_scale_log", math.log10((val["noise_scale"] if noisy else 0.0) + 1e-10)))
    for n, key in (("arch_num_layers", "num_layers"), ("arch_base_channels", "base_channels"),
                   ("arch_kernel_size", "kernel_size")):
        if key in has:
            cols.append((n, float(val[key])))
    onehot("arch_activation_", "activation")
    if "dropout_rate" in has:
        cols.append(("arch_dropout_rate", val["dropout_rate"]))
    if "num_layers" in has and "base_channels" in has:
        k = float(val["kernel_size"]) if "kernel_size" in has else 1.0
        cols.append(("arch_total_params_log10", math.log10(val["num_layers"] * val["base_channels"] ** 2 * k * k + 1e-8)))
    onehot("stoch_schedule_", "noise_schedule")
    if "spatial_correlation" in has:
        cols.append(("stoch_spatial_corr", val["spatial_correlation"]))
    onehot("stoch_noise_", "noise_type")
    if "noise_scale" in has:
        p = has["noise_scale"]
        lo, hi = p["bounds"]
        s = val["noise_scale"]
        if p.get("log_scale"):
            r = (math.log10(s) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            r = (s - lo) / (hi - lo)
        cols.append(("stoch_score", min(max(r, 0.0), 1.0)))
    onehot("op_norm_", "normalization")
    if "grid_size" in has:
        cols.append(("op_grid_size", float(val["grid_size"])))
    onehot("op_grid_", "grid_size")
    onehot("evol_policy_", "update_policy")
    if "dt" in has:
        cols.append(("evol_dt_log", math.log10(val["dt"] + 1e-10)))
    if "alpha" in has:
        cols.append(("evol_alpha", val["alpha"]))
    st = [min(math.floor(strata * x), strata - 1) if x > 0 else 0 for x in u]
    for d in range(P):
        cols.append(("strat_dim%d_stratum" % d, float(st[d])))
    cols.append(("strat_hash", sum(st[d] * float(strata) ** (d - P) for d in range(P))))
    cols.append(("strat_boundary_dist", min(min(x, 1 - x) for x in u)))
    cols.append(("strat_extremeness", math.sqrt(sum((x - 0.5) ** 2 for x in u))))
    return cols


BASELINE = {
    "architecture": [
        {"name": "num_layers", "type": "integer", "bounds": [2, 5]},
        {"name": "base_channels", "type": "integer", "bounds": [16, 64]},
        {"name": "kernel_size", "type": "choice", "choices": [3, 5, 7]},
        {"name": "activation", "type": "choice", "choices": ["gelu"]},
        {"name": "dropout_rate", "type": "continuous", "bounds": [0.0, 0.3]},
    ],
    "stochastic": [
        {"name": "noise_type", "type": "choice", "choices": ["gaussian"]},
        {"name": "noise_scale", "type": "continuous", "bounds": [1e-5, 1.0], "log_scale": True},
        {"name": "noise_schedule", "type": "choice", "choices": ["constant"]},
        {"name": "spatial_correlation", "type": "continuous", "bounds": [0.0, 0.3]},
    ],
    "operator": [
        {"name": "normalization", "type": "choice", "choices": ["instance"]},
        {"name": "grid_size", "type": "choice", "choices": [128]},
    ],
    "evolution": [
        {"name": "update_policy", "type": "choice", "choices": ["residual", "convex"], "weights": [0.75, 0.25]},
    ],
}

RICH = {
    "architecture": [
        {"name": "num_layers", "type": "integer", "bounds": [2, 8]},
        {"name": "base_channels", "type": "integer", "bounds": [16, 64]},
        {"name": "kernel_size", "type": "choice", "choices": [3, 5, 7], "weights": [0.5, 0.3, 0.2]},
        {"name": "activation", "type": "choice", "choices": ["relu", "gelu", "silu"], "weights": [0.2, 0.5, 0.3]},
    ],
    "stochastic": [
        {"name": "noise_type", "type": "choice", "choices": ["gaussian", "laplace"]},
        {"name": "noise_scale", "type": "continuous", "bounds": [0.001, 0.5]},
        {"name": "noise_schedule", "type": "choice", "choices": ["constant", "annealing", "periodic"]},
        {"name": "schedule_period", "type": "integer", "bounds": [10, 100]},
    ],
    "operator": [
        {"name": "normalization", "type": "choice", "choices": ["instance", "group", "none"]},
        {"name": "grid_size", "type": "choice", "choices": [32, 64]},
    ],
    "evolution": [
        {"name": "update_policy", "type": "choice", "choices": ["autoregressive", "residual", "convex"]},
        {"name": "alpha", "type": "continuous", "bounds": [0.1, 0.9]},
        {"name": "dt", "type": "continuous", "bounds": [0.001, 0.1], "log_scale": True},
    ],
}

NO_NOISE = {
    "architecture": [{"name": "num_layers", "type": "integer", "bounds": [1, 4]}],
    "operator": [{"name": "grid_size", "type": "choice", "choices": [32]}],
}


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def lua_space(space):
    out = ["{"]
    for cat in ("architecture", "stochastic", "operator", "evolution"):
        if cat not in space:
            continue
        out.append("      %s = {" % cat)
        for p in space[cat]:
            fields = ['name = "%s"' % p["name"], 'type = "%s"' % p["type"]]
            for k in ("bounds", "choices", "weights"):
                if k in p:
                    fields.append("%s = { %s }" % (k, ", ".join(lua_value(x) for x in p[k])))
            if p.get("log_scale"):
                fields.append("log_scale = true")
            out.append("        { %s }," % ", ".join(fields))
        out.append("      },")
    out.append("    }")
    return "\n".join(out)


def write_arch(path):
    rng = np.random.default_rng(5)
    lines = ["-- Generated by tools/ref/feat_initial_ref.py (numpy %s); do not edit." % np.__version__,
             "-- Architecture columns for fixed unit rows (decoded with the given integer mapping).",
             "return {"]
    specs = [("baseline", BASELINE, 4, "equal_mass"), ("baseline_ref_round", BASELINE, 4, "reference_round"),
             ("rich_strata3", RICH, 3, "equal_mass"), ("no_noise", NO_NOISE, 4, "equal_mass")]
    for name, space, strata, mapping in specs:
        P = sum(len(v) for v in space.values())
        rows = [list(rng.random(P)) for _ in range(5)]
        # edges: exact stratum / integer half points and the cube's corners
        rows.append([0.5] * P)
        rows.append([0.0] * P)
        rows.append([0.999999] * P)
        rows.append([(i % 4) / 4 + 0.125 for i in range(P)])
        lines.append("  {")
        lines.append('    name = "%s", strata = %d, integer_mapping = "%s",' % (name, strata, mapping))
        lines.append("    space = " + lua_space(space) + ",")
        cols0 = arch_columns(space, rows[0], strata, mapping)
        lines.append("    names = { %s }," % ", ".join('"%s"' % c[0] for c in cols0))
        lines.append("    unit = {")
        for r in rows:
            lines.append("      { %s }," % ", ".join(repr(float(x)) for x in r))
        lines.append("    },")
        lines.append("    expected = {")
        for r in rows:
            cols = arch_columns(space, r, strata, mapping)
            lines.append("      { %s }," % ", ".join(lua_num(float(c[1])) for c in cols))
        lines.append("    },")
        lines.append("  },")
    lines.append("}")
    open(path, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    # the phrase-definition LZ76 must agree with the Kaspar-Schuster scan the kernel uses
    def ks(s):
        n = len(s)
        c, l, i, k, kmax = 1, 1, 0, 1, 1
        while True:
            if s[i + k - 1] == s[l + k - 1]:
                k += 1
                if l + k > n:
                    c += 1
                    break
            else:
                kmax = max(k, kmax)
                i += 1
                if i == l:
                    c += 1
                    l += kmax
                    if l + 1 > n:
                        break
                    i, k, kmax = 0, 1, 1
                else:
                    k = 1
        return c
    r = np.random.default_rng(3)
    for n in (2, 3, 10, 50, 300):
        for _ in range(50):
            s = list((r.random(n) < r.random()).astype(np.uint8))
            assert ks(s) == lz76(s), (s, ks(s), lz76(s))
    write_initial("spec/fixtures/feat_initial_golden.lua")
    write_arch("spec/fixtures/feat_initial_arch_golden.lua")
    print("wrote spec/fixtures/feat_initial_golden.lua, spec/fixtures/feat_initial_arch_golden.lua")
