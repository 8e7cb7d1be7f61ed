"""The ``ionflow`` command-line interface."""
