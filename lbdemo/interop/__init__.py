"""Histories of other tools, both ways: Jepsen/Knossos EDN and Porcupine's formats.

- :mod:`.edn`: a small EDN reader and writer (what Jepsen histories use, nothing more)
- :mod:`.calls`: a foreign history's operations to lbdemo's, or a one-line refusal where the
  models differ (repeated values, ``cas``)
- :mod:`.jepsen`: Jepsen/Knossos EDN histories and Jepsen log lines
- :mod:`.porcupine`: Porcupine's operations as JSON (register and key-value models) and its
  key-value test logs
- :mod:`.formats`: reading a file in a named format or the one its content shows

The formats and what maps: ``docs/history-format.md``.
"""
