"""digest: a static site generator for curated weekly digests of feeds."""

# The one place the version is written: the package metadata (pyproject.toml's dynamic
# version), `digest --version` and every cache key read it from here.
__version__ = "0.1.0"
