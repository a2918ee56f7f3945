"""Incremental building: the load cache of rendered bodies, page fingerprints (what templates
read of each value, and digest's own code), and which files of the output folder a build
owns."""
