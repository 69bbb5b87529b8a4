"""Everything that draws: the only rich/plotext imports besides app and cli.

`render.dashboard.Dashboard(snapshot, view, now)` is the screen for both live mode and `--once`;
`render.plot` is the only module that imports plotext. Nothing is imported here, so a command that
only prints a summary does not load plotext.
"""
