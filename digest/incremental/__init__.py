"""Incremental building: the same output as a clean build, doing only what changed.

  paths.py        every file of the build cache (.digest/cache/) and item store (.digest/items/)
  noop.py         a build's first question, "is output/ up to date?", importing no stage
  stamps.py       the stamp of a build's inputs, which answers it
  itemstore.py    what each content file gives: its item and its body rendered, kept once
  fingerprint.py  hashes of values, of files by their stat, and of digest's own code
  reads.py        what the theme's templates read of each variable
  pagekeys.py     a page's key: all it is made from ("is this page fresh?")
  manifest.py     what the last build left in output/, and the scan of it
  ledger.py       what this build leaves there, file by file against the last build
  outfolder.py    where a build may write, and which files are its own to remove
"""
