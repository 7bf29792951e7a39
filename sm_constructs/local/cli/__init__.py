"""``sm-local``: the command line, the app-directory project and the demo."""
