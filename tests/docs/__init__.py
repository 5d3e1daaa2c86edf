"""Tests of README.md and docs/: commands, options, links and quoted outputs."""
