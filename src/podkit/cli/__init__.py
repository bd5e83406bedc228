"""The podkit command line: one thin module per command group."""
