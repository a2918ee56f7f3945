"""`digest serve`: the preview server, the file watcher, and the edit-build-reload loop."""
