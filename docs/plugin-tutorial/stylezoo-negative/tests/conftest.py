pytest_plugins = ["stylezoo.testing"]
