-- spinlock.vqvae.quantizer — the vector quantizer the tokenizer uses: spinlock.vq (C kernels,
-- docs/tokenizer-data.md §4).  One indirection so the model names a single place; `backend` is
-- recorded in checkpoints.
local vq = require "spinlock.vq"

return { new = vq.VectorQuantizer, from_state = vq.from_state, backend = "spinlock.vq" }
