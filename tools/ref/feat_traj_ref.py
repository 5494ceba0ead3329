#!/usr/bin/python3
"""Independent numpy reference for the per-trajectory features (engine/core/feat_traj.c).

Developer-only (CI has no numpy).  Writes
  spec/fixtures/feat_traj_cases.f32   float32 little-endian trajectories, concatenated
  spec/fixtures/feat_traj_golden.lua  per case: shape, offset into the .f32 file, kernel config,
                                      and the expected value of every feature (nan = NaN)
The formulas follow docs/features-trajectory.md; the implementation is deliberately different
from the C one (vectorised numpy, FFT-based periodic lowpass, lstsq for the predictors,
np.corrcoef for correlations) so that the two check each other.

Run from the repository root:  /usr/bin/python3 tools/ref/feat_traj_ref.py
"""
import math
import os
import numpy as np

NORMS = ["L1", "L2", "Linf", "entropy", "tv"]
METRICS = ["mean_drift", "drift_variance", "final_initial_ratio", "monotonicity"]
SCALES = ["raw", "lowpass", "highpass"]
ROLL = ["mean", "std", "max", "min", "mean_variability", "std_variability"]


def default_cfg():
    return dict(temporal=True, causality=True, invariant_drift=True, nonlinear=False, series="std",
                autocorr_max_lag=20, rolling_fractions=[0.05, 0.10, 0.20], include_pacf=False,
                pacf_max_lag=10, max_lag_correlation=3, max_lag_prediction=2, gaussian_sigma=2.0,
                num_scales=3, entropy_num_bins=32, nonlinear_stride=1, rqa_dim=3, rqa_threshold=0.1,
                corrdim_dim=5, perm_dim=3, include_permutation_entropy=True)


def names(cfg):
    out = []
    if cfg["temporal"]:
        out += ["energy_growth_rate", "energy_growth_accel", "variance_growth_rate", "temporal_freq_dominant",
                "oscillation_amplitude", "oscillation_period", "autocorr_decay_time", "lyapunov_approx",
                "trajectory_smoothness", "regime_switches", "final_to_initial_ratio", "trend_strength",
                "detrended_variance", "num_spikes", "num_bursts", "num_zero_crossings", "time_to_0.5x",
                "time_to_2.0x"]
        for f in cfg["rolling_fractions"]:
            out += ["rolling_w%d_%s" % (round(100 * f), s) for s in ROLL]
        if cfg["include_pacf"]:
            out += ["pacf_lag_%d" % k for k in range(1, cfg["pacf_max_lag"] + 1)]
    if cfg["causality"]:
        for t in range(1, cfg["max_lag_correlation"] + 1):
            out += ["causality_lag_corr_asymmetry_mean_lag%d" % t, "causality_lag_corr_asymmetry_max_lag%d" % t]
        for t in range(1, cfg["max_lag_prediction"] + 1):
            out += ["causality_pred_error_ratio_lag%d" % t, "causality_pred_error_diff_lag%d" % t]
        out += ["causality_time_irreversibility", "causality_time_asymmetry_index",
                "causality_spatial_flow_magnitude", "causality_spatial_flow_anisotropy"]
    if cfg["invariant_drift"]:
        for n in NORMS:
            for m in METRICS:
                for s in SCALES[:cfg["num_scales"]]:
                    out.append("%s_%s_%s" % (n, m, s))
    if cfg["nonlinear"]:
        out += ["recurrence_rate", "determinism", "laminarity", "entropy_diag_length", "correlation_dimension"]
        if cfg["include_permutation_entropy"]:
            out.append("permutation_entropy")
    return out


# ------------------------------------------------------------------ helpers

def flat(y):
    y = np.asarray(y, float)
    return np.sum((y - y.mean()) ** 2) <= 1e-14 * np.sum(y * y)


def sgn_tol(d, a, b):
    s = np.maximum(np.abs(a), np.abs(b))
    return np.where(np.abs(d) <= 1e-7 * s, 0, np.sign(d))


def slope(y):
    t = np.arange(len(y), dtype=float)
    return np.polyfit(t, y, 1)[0]


def grad(u):
    dx = 0.5 * (np.roll(u, -1, 1) - np.roll(u, 1, 1))
    dy = 0.5 * (np.roll(u, -1, 0) - np.roll(u, 1, 0))
    return dx, dy


def lowpass(u, sigma):
    H, W = u.shape
    r = max(1, math.ceil(2 * sigma))
    k = np.arange(-r, r + 1)
    g = np.exp(-0.5 * (k / sigma) ** 2)
    g /= g.sum()
    K = np.zeros((H, W))
    for i, a in zip(k, g):
        for j, b in zip(k, g):
            K[i % H, j % W] += a * b
    # lp[y,x] = sum K[i,j] u[y+i, x+j]: circular cross-correlation via FFT
    return np.real(np.fft.ifft2(np.fft.fft2(u) * np.conj(np.fft.fft2(K))))


def invariants(u, bins):
    mn, mx = u.min(), u.max()
    ent = 0.0
    if mx > mn:
        b = ((u - mn) * (bins / (mx - mn))).astype(int)
        b = np.minimum(b, bins - 1)
        p = np.bincount(b.ravel(), minlength=bins) / u.size
        p = p[p > 0]
        ent = -np.sum(p * np.log(p))
    dx, dy = grad(u)
    return [np.mean(np.abs(u)), math.sqrt(np.mean(u * u)), np.max(np.abs(u)), ent, np.mean(np.sqrt(dx * dx + dy * dy))]


def pearson(a, b):
    a = a.ravel(); b = b.ravel()
    if np.var(a) <= 0 or np.var(b) <= 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def quad_err(y, z):
    if flat(y):
        return 0.0
    zs = z.std(ddof=1)
    zs = zs if zs > 0 else 1.0
    s = (z - z.mean()) / zs
    A = np.stack([np.ones_like(s), s, s * s], 1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    r = y - A @ coef
    return math.sqrt(np.sum(r * r) / np.sum((y - y.mean()) ** 2))


# ------------------------------------------------------------------ per-channel features

def temporal(x, E, V, cfg):
    T = len(x)
    n = 18 + 6 * len(cfg["rolling_fractions"]) + (cfg["pacf_max_lag"] if cfg["include_pacf"] else 0)
    o = [math.nan] * n
    if T < 2:
        return o
    o[0] = slope(np.log(E + 1e-8))
    Em = E.mean()
    if T >= 3:
        o[1] = np.mean(np.abs(np.diff(E, 2))) / (Em + 1e-8)
    o[2] = slope(np.log(V + 1e-8))
    if flat(E):
        o[3], o[5] = 0.0, float(T)
    else:
        P = np.abs(np.fft.rfft(E - Em)) ** 2
        k = 1 + int(np.argmax(P[1:T // 2 + 1]))
        o[3], o[5] = k / T, T / k
    o[4] = (E.max() - E.min()) / (Em + 1e-8)
    L = min(cfg["autocorr_max_lag"], T)
    xm = x.mean()
    if flat(x):
        o[6] = L
    else:
        xc = x - xm
        acf = np.array([np.sum(xc[:T - k] * xc[k:]) for k in range(L)]) / np.sum(xc * xc)
        below = np.nonzero(acf < math.exp(-1))[0]
        o[6] = float(below[0]) if len(below) else float(L)
    if T >= 3:
        dx = np.diff(x)
        o[7] = slope(np.log(np.abs(dx) + 1e-12 + 1e-8 * np.max(np.abs(x))))
        b = np.mean(np.abs(dx))
        o[8] = np.mean(np.abs(np.diff(x, 2))) / b if b > 0 else 0.0
        s = sgn_tol(dx, x[1:], x[:-1])
        o[9] = np.sum(s[1:] != s[:-1]) / (T - 2)
    o[10] = (abs(x[-1]) + 1e-8) / (abs(x[0]) + 1e-8)
    t = np.arange(T, dtype=float)
    A = np.stack([np.ones(T), t], 1)
    res = x - A @ np.linalg.lstsq(A, x, rcond=None)[0]
    o[11] = 0.0 if flat(x) else float(np.clip(1 - np.sum(res ** 2) / np.sum((x - xm) ** 2), 0, 1))
    o[12] = np.sum(res ** 2) / (T - 1)
    hi = xm + 2 * x.std(ddof=1)
    o[13] = float(np.sum((x[:-1] <= hi) & (hi < x[1:])))
    a = np.concatenate([[False], x > hi, [False]])
    b = a[:-2] & a[1:-1] & a[2:]
    o[14] = float(np.sum(b[1:] & ~b[:-1]))
    sg = np.sign(x - xm)
    o[15] = float(np.sum(sg[1:] * sg[:-1] == -1))
    idx = np.nonzero(np.abs(x) < 0.5 * abs(x[0]))[0]
    o[16] = (idx[0] if len(idx) else T) / T
    idx = np.nonzero(np.abs(x) > 2.0 * abs(x[0]))[0]
    o[17] = (idx[0] if len(idx) else T) / T
    for r, f in enumerate(cfg["rolling_fractions"]):
        w = max(2, int(math.floor(f * T + 1e-9)))
        if w > T:
            continue
        win = np.lib.stride_tricks.sliding_window_view(x, w)
        wm, ws = win.mean(1), win.std(1, ddof=1)
        nw = len(wm)
        o[18 + 6 * r: 24 + 6 * r] = [wm.mean(), ws.mean(), win.max(1).mean(), win.min(1).mean(),
                                     wm.std(ddof=1) if nw > 1 else 0.0, ws.std(ddof=1) if nw > 1 else 0.0]
    if cfg["include_pacf"] and not flat(x):
        K = cfg["pacf_max_lag"]
        xc = x - xm
        rho = np.array([np.sum(xc[:T - k] * xc[k:]) if k < T else 0.0 for k in range(K + 1)]) / np.sum(xc * xc)
        base = 18 + 6 * len(cfg["rolling_fractions"])
        for k in range(1, min(K, T - 1) + 1):
            # PACF(k) = last coefficient of the order-k Yule-Walker solution
            R = np.array([[rho[abs(i - j)] for j in range(k)] for i in range(k)])
            o[base + k - 1] = np.linalg.solve(R, rho[1:k + 1])[-1]
    return o


def causality_channel(x, cx, cy, cfg):
    T = len(x)
    P = cfg["max_lag_prediction"]
    o = [math.nan] * (2 * P + 4)
    for tau in range(1, P + 1):
        n = T - tau
        if n < 4:
            continue
        f = quad_err(x[tau:], x[:n])
        g = quad_err(x[:n], x[tau:])
        o[2 * tau - 2] = (f + 1e-6) / (g + 1e-6)
        o[2 * tau - 1] = f - g
    if T >= 2:
        xc = x - x.mean()
        s2 = np.mean(xc * xc)
        o[2 * P] = 0.0 if flat(x) else np.mean(xc[:-1] ** 2 * xc[1:] - xc[:-1] * xc[1:] ** 2) / s2 ** 1.5
        d = np.diff(x)
        m2 = np.mean(d ** 2)
        o[2 * P + 1] = np.mean(d ** 3) / m2 ** 1.5 if m2 > 0 else 0.0
        cx, cy = np.asarray(cx), np.asarray(cy)
        o[2 * P + 2] = np.mean(np.sqrt(cx ** 2 + cy ** 2))
        ax, ay = np.mean(np.abs(cx)), np.mean(np.abs(cy))
        o[2 * P + 3] = (ax - ay) / (ax + ay + 1e-8)
    return o


def drift(I):
    T = len(I)
    if T < 2:
        return [math.nan] * 4
    d = np.diff(I)
    return [d.mean(), d.var(ddof=1) if T >= 3 else math.nan, (I[-1] + 1e-8) / (I[0] + 1e-8),
            np.mean(sgn_tol(d, I[1:], I[:-1]))]


def embed(y, d):
    Te = len(y) - (d - 1)
    return np.stack([y[i:i + Te] for i in range(d)], 1) if Te > 0 else np.zeros((0, d))


def nonlinear(x, cfg):
    o = [math.nan] * (6 if cfg["include_permutation_entropy"] else 5)
    y = x[::cfg["nonlinear_stride"]]
    Y = embed(y, cfg["rqa_dim"])
    Te = len(Y)
    if Te >= 2:
        D = np.sqrt(((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
        R = (D <= cfg["rqa_threshold"] * D.max()) & ~np.eye(Te, dtype=bool)
        SR = R.sum()
        lens = []
        for k in list(range(1, Te)) + list(range(-Te + 1, 0)):
            run = 0
            for v in list(np.diagonal(R, k)) + [False]:
                if v:
                    run += 1
                else:
                    if run >= 2:
                        lens.append(run)
                    run = 0
        vert = 0
        for j in range(Te):
            run = 0
            for v in list(R[:, j]) + [False]:
                if v:
                    run += 1
                else:
                    if run >= 2:
                        vert += run
                    run = 0
        o[0] = SR / (Te * (Te - 1))
        o[1] = sum(lens) / SR if SR else 0.0
        o[2] = vert / SR if SR else 0.0
        if lens:
            _, c = np.unique(lens, return_counts=True)
            p = c / c.sum()
            o[3] = float(-np.sum(p * np.log(p)))
        else:
            o[3] = 0.0
    Y = embed(y, cfg["corrdim_dim"])
    Te = len(Y)
    if Te >= 10:
        iu = np.triu_indices(Te, 1)
        ds = np.sqrt(((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1))[iu]
        lo, hi = np.quantile(ds, 0.1), np.quantile(ds, 0.5)
        if not hi > 0:
            o[4] = 0.0
        else:
            if not lo > 0:
                lo = ds[ds > 0].min()
            if lo < hi:
                rs = np.exp(np.log(lo) + np.arange(10) / 9.0 * (np.log(hi) - np.log(lo)))
                C = np.array([np.mean(ds < r) for r in rs])
                m = C > 0
                if m.sum() >= 3:
                    o[4] = np.polyfit(np.log(rs[m]), np.log(C[m]), 1)[0]
    if cfg["include_permutation_entropy"]:
        d = cfg["perm_dim"]
        Y = embed(y, d)
        if len(Y) >= 2 * math.factorial(d):
            pats = [tuple(np.argsort(v, kind="stable")) for v in Y]
            _, c = np.unique(np.array(pats), axis=0, return_counts=True)
            p = c / c.sum()
            o[5] = float(-np.sum(p * np.log(p)) / math.log(math.factorial(d)))
    return o


def features(traj, cfg):
    traj = traj.astype(np.float64)
    Mr, T, C, H, W = traj.shape
    rows = []
    for m in range(Mr):
        per = []
        for c in range(C):
            u = traj[m, :, c]
            mean = u.mean((1, 2))
            var = u.reshape(T, -1).var(1, ddof=1) if H * W > 1 else np.full(T, math.nan)
            x = mean if cfg["series"] == "mean" else np.sqrt(var)
            E = (u * u).mean((1, 2))
            f = []
            if cfg["temporal"]:
                f += temporal(x, E, var, cfg)
            if cfg["causality"]:
                f += [0.0] * (2 * cfg["max_lag_correlation"])
                cx, cy = [], []
                for t in range(T - 1):
                    gx, gy = grad(u[t])
                    cx.append(pearson(gx, u[t + 1] - u[t]))
                    cy.append(pearson(gy, u[t + 1] - u[t]))
                f += causality_channel(x, cx, cy, cfg)
            if cfg["invariant_drift"]:
                inv = np.zeros((T, 3, 5))
                for t in range(T):
                    lp = lowpass(u[t], cfg["gaussian_sigma"])
                    for s, fld in enumerate([u[t], lp, u[t] - lp][:cfg["num_scales"]]):
                        inv[t, s] = invariants(fld, cfg["entropy_num_bins"])
                for k in range(5):
                    for mt in range(4):
                        for s in range(cfg["num_scales"]):
                            f.append(drift(inv[:, s, k])[mt])
            if cfg["nonlinear"]:
                f += nonlinear(x, cfg)
            per.append(f)
        row = list(np.mean(np.array(per, dtype=float), 0))
        if cfg["causality"]:
            base = (18 + 6 * len(cfg["rolling_fractions"]) + (cfg["pacf_max_lag"] if cfg["include_pacf"] else 0)) if cfg["temporal"] else 0
            for tau in range(1, cfg["max_lag_correlation"] + 1):
                mean = mx = math.nan
                if C >= 2 and tau < T:
                    A = []
                    for i in range(C):
                        for j in range(i + 1, C):
                            fwd = pearson(traj[m, :T - tau, i], traj[m, tau:, j])
                            bwd = pearson(traj[m, :T - tau, j], traj[m, tau:, i])
                            A.append(fwd - bwd)
                    mean, mx = float(np.mean(A)), float(np.max(np.abs(A)))
                row[base + 2 * tau - 2] = mean
                row[base + 2 * tau - 1] = mx
        rows.append(row)
    return np.array(rows)


# ------------------------------------------------------------------ cases

def cases():
    rng = np.random.default_rng(20261128)
    out = []
    # 1. AR(1) noise fields: generic values everywhere
    M, T, C, G = 2, 16, 3, 8
    u = np.zeros((M, T, C, G, G))
    u[:, 0] = rng.standard_normal((M, C, G, G))
    for t in range(1, T):
        u[:, t] = 0.85 * u[:, t - 1] + 0.5 * rng.standard_normal((M, C, G, G)) * (1 + 0.05 * t)
    out.append(("ar1_noise", u, {}))
    # 2. advected growing wave; channel j lags channel 0 by j steps (directed coupling)
    M, T, C, G = 1, 14, 3, 8
    yy, xx = np.meshgrid(np.arange(G), np.arange(G), indexing="ij")
    base = lambda t: (1 + 0.1 * t) * np.sin(2 * np.pi * (xx - 0.7 * t) / G) * np.cos(2 * np.pi * yy / G) + 0.3 * np.sin(0.9 * t)
    u = np.zeros((M, T, C, G, G))
    for t in range(T):
        for c in range(C):
            u[0, t, c] = base(t - c) + 0.05 * rng.standard_normal((G, G))
    out.append(("advected_wave", u, {}))
    # 3. diffusing Gaussian blob (lowpass and highpass differ), mean series, PACF on
    M, T, C, G = 1, 12, 2, 16
    yy, xx = np.meshgrid(np.arange(G), np.arange(G), indexing="ij")
    u = np.zeros((M, T, C, G, G))
    for t in range(T):
        for c in range(C):
            s2 = 2.0 + 0.8 * t + c
            u[0, t, c] = np.exp(-((xx - 7.5) ** 2 + (yy - 6.0 - c) ** 2) / (2 * s2)) * (3 - 0.1 * t)
    out.append(("diffusing_blob", u, {"series": "mean", "include_pacf": True, "pacf_max_lag": 4}))
    # 4. constant fields (flat everything), 2 channels
    u = np.full((1, 6, 2, 4, 4), 1.5)
    u[:, :, 1] = -0.25
    out.append(("constant", u, {}))
    # 5. T = 1: all NaN; T = 3: partial
    out.append(("single_frame", rng.standard_normal((2, 1, 2, 4, 4)), {}))
    out.append(("three_frames", rng.standard_normal((1, 3, 2, 5, 6)), {"max_lag_correlation": 4}))
    # 6. logistic-map amplitude (irreversible, nonlinear on), single channel
    T, G = 60, 4
    r = np.zeros(T)
    r[0] = 0.2
    for t in range(1, T):
        r[t] = 3.9 * r[t - 1] * (1 - r[t - 1])
    pat = rng.standard_normal((G, G))
    u = (r[:, None, None] * pat)[None, :, None]
    out.append(("logistic", u, {"nonlinear": True, "num_scales": 2, "rolling_fractions": [0.1, 0.29]}))
    # 7. random walk amplitude with the nonlinear block, 2 channels, stride 2
    T = 48
    amp = 1 + np.cumsum(rng.standard_normal((2, T)) * 0.1, 1)
    u = (amp[:, :, None, None] * rng.standard_normal((2, G, G))[:, None])[None].transpose(0, 2, 1, 3, 4)
    out.append(("random_walk_nonlinear", u, {"nonlinear": True, "nonlinear_stride": 2, "perm_dim": 3}))
    return out


def lua_num(v):
    if v != v:
        return "nan"
    if v == math.inf:
        return "inf"
    if v == -math.inf:
        return "-inf"
    return repr(float(v))


def lua_val(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, list):
        return "{" + ", ".join(lua_val(x) for x in v) + "}"
    return lua_num(v)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fx = os.path.join(root, "spec", "fixtures")
    blob = []
    off = 0
    lines = ["-- Generated by tools/ref/feat_traj_ref.py (numpy reference); do not edit.",
             "-- Trajectories live in feat_traj_cases.f32 (float32 LE) at `offset` (in floats).",
             "local nan = 0/0", "return {"]
    for name, u, over in cases():
        u = u.astype(np.float32)
        cfg = default_cfg()
        cfg.update(over)
        vals = features(u, cfg)
        nm = names(cfg)
        assert vals.shape == (u.shape[0], len(nm)), (name, vals.shape, len(nm))
        lines.append("  { name = %s, shape = %s, offset = %d," % (lua_val(name), lua_val(list(map(float, u.shape))).replace(".0", ""), off))
        lines.append("    cfg = {%s}," % ", ".join("%s = %s" % (k, lua_val(v)) for k, v in sorted(over.items())))
        lines.append("    expected = {")
        for m in range(u.shape[0]):
            lines.append("      {" + ", ".join('["%s"] = %s' % (n, lua_num(v)) for n, v in zip(nm, vals[m])) + "},")
        lines.append("    } },")
        blob.append(u.ravel())
        off += u.size
    lines.append("}")
    np.concatenate(blob).astype("<f4").tofile(os.path.join(fx, "feat_traj_cases.f32"))
    with open(os.path.join(fx, "feat_traj_golden.lua"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d floats, %d cases" % (off, len(cases())))


if __name__ == "__main__":
    main()
