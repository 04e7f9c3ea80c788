"""The headless subcommands of the `roomscope` command, one module each.

Every module here except `render` imports neither Qt nor pyqtgraph.
"""
