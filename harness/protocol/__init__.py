"""The sans-IO protocol core: bytes, an explicit clock and rng in, values out."""
