"""Pure domain rules: plain values and functions, no database, no framework, no I/O."""
