"""The pure engine: values in, decisions out. Imports nothing from the other packages."""
