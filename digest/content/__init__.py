"""The content file format (YAML front matter, then a body) and its older shape."""
