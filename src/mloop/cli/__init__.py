"""The command-line interface (Typer). `mloop.cli.main:main` is the console script."""
