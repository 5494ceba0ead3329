#!/usr/bin/python3
"""Tokens of a spinlock VQ-VAE checkpoint computed with numpy alone (plus the standard library).

An independent reading of the checkpoint format for spec/vqvae_numpy_spec.lua (issue #5: a
checkpoint's weights load in Python with numpy alone and give the same tokens).  Nothing here
imports spinlock, safetensors or torch: the file layout, the fitted input transform, the encoder
and the residual quantizers are re-implemented from their documented behaviour
(lua/spinlock/vqvae/{init,model}.lua, lua/spinlock/cleaning.lua, lua/spinlock/vq.lua,
engine/core/{nn_generic.h,vq.c}).

    /usr/bin/python3 vqvae_numpy_tokens.py BASE ROWS [--cols D]

BASE is the checkpoint base path (BASE.json + BASE.safetensors).  ROWS holds the RAW feature
rows: a .npy file, or raw little-endian float32 values in row-major order with --cols D columns.
Prints one JSON object per row:
    {"tokens": [t_1 .. t_L], "token_gaps": [...], "codes": [[c_1,1 .. c_1,L], ...], "code_gaps": [[...], ...]}
tokens/codes are 0-based code numbers (operator tokens coarse → fine; per-category codes in the
model's category order).  A gap is the relative distance between the nearest and the second
nearest code of that decision, (d2 - d1) / max(|d1|, |d2|) (for the cosine metric the same on
similarities); a caller uses it to tell a float rounding flip on a near tie from a real disagreement.

The arithmetic follows the C kernels' precision where that is cheap: float32 activations,
float64 row sums in LayerNorm taken in index order, squared code norms summed in float64 and
rounded to float32, distances as ||e||^2 - 2 z.e in float32, the first index on ties.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2',
          'I8': 'i1', 'U8': 'u1', 'BOOL': '?'}
LAYERNORM_EPS = 1e-5     # nn.LayerNorm's default; the model does not change it


def fail(msg):
    sys.stderr.write('vqvae_numpy_tokens: %s\n' % msg)
    sys.exit(2)


# ---------------------------------------------------------------- checkpoint files

def read_safetensors(path):
    """{name: ndarray}: u64 LE header length, JSON header, raw LE data at data_offsets."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 8:
        fail('%s: too short for a safetensors file' % path)
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n].decode('utf-8'))
    start = 8 + n
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        if e['dtype'] not in DTYPES:
            fail('%s: tensor %s has unsupported dtype %s' % (path, name, e['dtype']))
        b, c = e['data_offsets']
        out[name] = np.frombuffer(data[start + b:start + c], dtype=DTYPES[e['dtype']]).reshape(e['shape'])
    return out


def resolve(v, tensors):
    """Replaces every {"__tensor__": key} in a JSON tree by the tensor."""
    if isinstance(v, dict):
        if '__tensor__' in v:
            key = v['__tensor__']
            if key not in tensors:
                fail('the metadata names tensor %s, which the .safetensors file lacks' % key)
            return tensors[key]
        return {k: resolve(x, tensors) for k, x in v.items()}
    if isinstance(v, list):
        return [resolve(x, tensors) for x in v]
    return v


def load_checkpoint(base):
    with open(base + '.json', 'r', encoding='utf-8') as f:
        doc = json.load(f)
    if doc.get('format') != 'spinlock-vqvae':
        fail('%s.json is not a spinlock VQ-VAE checkpoint (format %r)' % (base, doc.get('format')))
    tensors = read_safetensors(base + '.safetensors')
    return {
        'categories': doc['categories'],
        'levels': doc['levels'],
        'input_dim': doc['input_dim'],
        'config': doc['config'],
        'transform': resolve(doc.get('transform') or {}, tensors),
        'weights': resolve(doc['weights'], tensors),
        'quantizers': resolve(doc['quantizers'], tensors),
    }


# ---------------------------------------------------------------- input transform

def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def clean(x, st):
    """Cleaner:transform: inf -> NaN, kept columns, impute medians, clip to [lo, hi], centre/scale."""
    x = np.where(np.isinf(x), np.float32(np.nan), x).astype(np.float32)
    version = st.get('version')
    if version not in (1, 2):
        fail('cleaning state of version %r (expected 1 or 2)' % version)
    base = 1 if version == 1 else st.get('index_base', 0)
    cols = np.asarray(st['columns'], dtype=np.int64) - base
    x = x[:, cols]
    med = f32(st['medians']).reshape(1, -1)
    x = np.where(np.isnan(x), med, x)
    x = np.maximum(np.minimum(x, f32(st['hi']).reshape(1, -1)), f32(st['lo']).reshape(1, -1))
    centre = np.asarray(st['centre'], dtype=np.float64).reshape(1, -1)
    scale = np.asarray(st['scale'], dtype=np.float64).reshape(1, -1)
    return ((x.astype(np.float64) - centre) / scale).astype(np.float32)


def prepare(x, ck):
    """Model:prepare for raw rows: the fitted cleaning (or plain standardisation), then column_order."""
    tr = ck['transform']
    x = np.ascontiguousarray(x, dtype=np.float32)
    width = x.shape[1]
    names_in = tr.get('names_in')
    if tr.get('cleaning') is not None and names_in is not None and width == len(names_in):
        x = clean(x, tr['cleaning'])
    elif tr.get('centre') is not None and width == len(tr['centre']):
        c = f32(tr['centre']).reshape(1, -1)
        s = f32(tr['scale']).reshape(1, -1)
        x = (x - c) / s
    elif names_in is not None and width != len(names_in):
        fail('rows have %d columns; the checkpoint expects %d raw columns' % (width, len(names_in)))
    order = tr.get('column_order')
    if order is not None:
        if x.shape[1] != len(order):
            fail('%d columns after cleaning, the column map has %d' % (x.shape[1], len(order)))
        x = x[:, np.asarray(order, dtype=np.int64) - 1]
    if x.shape[1] != ck['input_dim']:
        fail('%d prepared columns, the model expects %d' % (x.shape[1], ck['input_dim']))
    return np.ascontiguousarray(x)


# ---------------------------------------------------------------- encoder

def weight(ck, key):
    w = ck['weights'].get(key)
    if w is None:
        fail('the checkpoint has no weight %s' % key)
    return w


def linear(x, ck, prefix):
    """y = x W^T + b with W [out, in] (nn.Linear)."""
    w = weight(ck, prefix + '.weight')
    b = ck['weights'].get(prefix + '.bias')
    y = np.matmul(x, w.T)
    return y + b if b is not None else y


def layernorm(x, ck, prefix):
    """Over the last dim: float64 mean and biased variance summed in index order, then float32."""
    w = ck['weights'].get(prefix + '.weight')
    b = ck['weights'].get(prefix + '.bias')
    n = x.shape[1]
    x64 = x.astype(np.float64)
    m = np.cumsum(x64, axis=1)[:, -1:] / n
    d = x64 - m
    v = np.cumsum(d * d, axis=1)[:, -1:] / n
    rs = 1.0 / np.sqrt(v + LAYERNORM_EPS)
    xh = (x - m.astype(np.float32)) * rs.astype(np.float32)
    if w is None:
        return xh + b if b is not None else xh
    # x̂·w + b as one rounding (the C build contracts it to a fused multiply-add): the float32
    # product is exact in float64, so only the sum is rounded, once to float64 and once to float32.
    acc = xh.astype(np.float64) * w.astype(np.float64)
    if b is not None:
        acc = acc + b.astype(np.float64)
    return acc.astype(np.float32)


def encode(x, ck):
    """Per category c (contiguous columns): Enc_c = Linear, ReLU, Dropout, Linear, LayerNorm;
    Head_c = Linear, Dropout[, LayerNorm].  Evaluation mode: dropout is the identity."""
    zs = []
    for i, cat in enumerate(ck['categories'], start=1):
        off = cat['offset'] - 1
        xc = np.ascontiguousarray(x[:, off:off + cat['size']])
        h = linear(xc, ck, 'enc%d.1' % i)
        h = np.maximum(h, np.float32(0))
        h = linear(h, ck, 'enc%d.4' % i)
        h = layernorm(h, ck, 'enc%d.5' % i)
        z = linear(h, ck, 'head%d.1' % i)
        if 'head%d.3.weight' % i in ck['weights'] or 'head%d.3.bias' % i in ck['weights']:
            z = layernorm(z, ck, 'head%d.3' % i)
        zs.append(np.ascontiguousarray(z, dtype=np.float32))
    return np.ascontiguousarray(np.concatenate(zs, axis=1)), zs


# ---------------------------------------------------------------- quantizers

def unit_rows(a):
    s = np.cumsum(a.astype(np.float64) ** 2, axis=1)[:, -1:]
    inv = np.where(s > 0, 1.0 / np.sqrt(np.where(s > 0, s, 1.0)), 1.0).astype(np.float32)
    return (a * inv).astype(np.float32)


def nearest(z, q):
    """Index of the nearest code (first on ties) and the relative gap to the runner-up."""
    e = np.ascontiguousarray(q['codebook'], dtype=np.float32)
    metric = q['opts'].get('metric', 'l2')
    z = np.ascontiguousarray(z, dtype=np.float32)
    if metric == 'cosine':
        s = np.matmul(unit_rows(z), unit_rows(e).T)
        idx = np.argmax(s, axis=1)
        ref = np.matmul(unit_rows(z).astype(np.float64), unit_rows(e).astype(np.float64).T)
        srt = -np.sort(-ref, axis=1)
    elif metric == 'l2':
        enorm = np.cumsum(e.astype(np.float64) ** 2, axis=1)[:, -1].astype(np.float32)
        dist = enorm.reshape(1, -1) - np.float32(2) * np.matmul(z, e.T)
        idx = np.argmin(dist, axis=1)
        z64, e64 = z.astype(np.float64), e.astype(np.float64)
        ref = (z64 * z64).sum(1, keepdims=True) + (e64 * e64).sum(1).reshape(1, -1) - 2 * z64 @ e64.T
        srt = np.sort(ref, axis=1)
    else:
        fail('unknown quantizer metric %r' % metric)
    if srt.shape[1] > 1:
        a, b = srt[:, 0], srt[:, 1]
        gap = np.abs(b - a) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-30)
    else:
        gap = np.full(z.shape[0], np.inf)
    return idx, e[idx], gap


def residual(qs, z):
    """r_0 = z, q_l = Q_l(r_l), prefix_l = sum_{j<=l} q_j, r_{l+1} = z - prefix_l."""
    r, acc, idx, gaps = z, None, [], []
    for q in qs:
        i, zq, g = nearest(r, q)
        acc = zq if acc is None else (acc + zq).astype(np.float32)
        idx.append(i)
        gaps.append(g)
        r = (z - acc).astype(np.float32)
    return idx, gaps


def tokens(x_raw, ck):
    x = prepare(x_raw, ck)
    z, zs = encode(x, ck)
    qs = ck['quantizers']
    tok, tok_gap = residual(qs['tok'], z)
    cat = [residual(qs['cat'][i], zs[i]) for i in range(len(zs))]
    return tok, tok_gap, cat


# ---------------------------------------------------------------- command line

def read_rows(path, cols):
    if path.endswith('.npy'):
        x = np.load(path)
    else:
        if cols is None:
            fail('raw float32 rows need --cols D')
        x = np.fromfile(path, dtype='<f4')
        if x.size % cols:
            fail('%s holds %d values, not a multiple of %d columns' % (path, x.size, cols))
        x = x.reshape(-1, cols)
    if x.ndim != 2:
        fail('rows must be a 2-d array, got shape %s' % (x.shape,))
    return x


def main(argv):
    args, cols = [], None
    it = iter(argv)
    for a in it:
        if a == '--cols':
            cols = int(next(it))
        else:
            args.append(a)
    if len(args) != 2:
        fail('usage: vqvae_numpy_tokens.py BASE ROWS [--cols D]')
    base = args[0]
    for ext in ('.safetensors', '.json'):
        if base.endswith(ext):
            base = base[:-len(ext)]
    ck = load_checkpoint(base)
    tok, tok_gap, cat = tokens(read_rows(args[1], cols), ck)
    out = sys.stdout
    for r in range(len(tok[0])):
        out.write(json.dumps({
            'tokens': [int(t[r]) for t in tok],
            'token_gaps': [float(g[r]) for g in tok_gap],
            'codes': [[int(t[r]) for t in c[0]] for c in cat],
            'code_gaps': [[float(g[r]) for g in c[1]] for c in cat],
        }) + '\n')


if __name__ == '__main__':
    main(sys.argv[1:])
