"""The lakesmith command line: thin commands that parse, call the core and render."""
