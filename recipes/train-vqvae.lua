-- summary: Train the behavioural tokenizer (categorical hierarchical VQ-VAE) on dataset features
-- Thin alias: the recipe is recipes/train_vqvae.lua (the name the issue uses).
local paths = require "spinlock.paths"
return dofile(paths.recipes .. "/train_vqvae.lua")
