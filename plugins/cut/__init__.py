"""The cut family (under construction: registers nothing yet)."""
