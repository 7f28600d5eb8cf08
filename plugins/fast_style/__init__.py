"""The fast_style family (under construction: registers nothing yet)."""
