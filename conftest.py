# Doctests run on the packages; the module entry point is not importable without running the CLI.
collect_ignore = ["verify/__main__.py", "benchmarks"]
