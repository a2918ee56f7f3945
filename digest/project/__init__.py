"""The project around the pipeline: `digest init` (and the workflow it writes), careful edits
of digest.toml (`add`, OPML), `check`'s audit of the built site, `publish`, `migrate`."""
