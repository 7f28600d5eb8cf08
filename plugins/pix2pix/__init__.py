"""The pix2pix family (under construction: registers nothing yet)."""
