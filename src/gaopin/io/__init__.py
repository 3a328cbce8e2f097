"""Reading ticket exports into the canonical table (`gaopin.io.load`), and writing tables safely.

The package itself imports nothing, so that its light modules (`sniff`, `header`, `csvfile`)
can be used before pandas is loaded, which `gaopin.io.load` needs."""
