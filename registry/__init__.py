"""Pretrained-model records of the built-in families, as TOML data files."""
