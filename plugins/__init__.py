"""stylezoo's built-in plugins, one package per family, loaded through entry points."""
