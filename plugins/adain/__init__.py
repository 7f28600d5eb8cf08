"""The adain family (under construction: registers nothing yet)."""
