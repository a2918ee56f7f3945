"""HTML in and out: the sanitizer's allow-list, Markdown and code highlighting, formulas to
MathML, per-feed cleanup rules, link hygiene, mirrored images, and finding a theme."""
