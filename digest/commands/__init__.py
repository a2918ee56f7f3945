"""The commands of `digest`, one module per group: init; fetching (fetch, add, opml,
migrate); building (select, build, check, publish); serving (serve).

Each is a plain click command that gets the Context (context.py) and raises DigestError for
what the user can fix; digest/cli.py registers them, adds the global options and reports the
errors.
"""
