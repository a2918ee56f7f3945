"""What digest keeps on the machine: atomic writes, worker processes that end with their
parent, the fetch state in .digest/state.json, and a fetch's progress on the console."""
