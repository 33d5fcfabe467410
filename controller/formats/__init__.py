"""Text <-> values: grant files, the catalog, commit trailers, Markdown escaping."""
