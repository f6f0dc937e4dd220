"""The command-line scripts, shipped in the package as jaxstyle.scripts (console commands
`jaxstyle-texture`, `jaxstyle-stylize`, ...; see pyproject.toml)."""
