"""Words, names and time: editors' patterns, slugs, language tags, dates in the site's
language, and issue weeks."""
