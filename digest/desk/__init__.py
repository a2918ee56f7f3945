"""The editor's desk in `digest serve`: the review page, its actions, byte-preserving edits of
front matter, and the desk's own templates, static files and translations."""
