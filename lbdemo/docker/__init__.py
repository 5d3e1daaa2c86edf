"""lbdemo on a real Docker Engine: the project's image and what runs inside it.

Nothing here imports the ``docker`` package at import time: users without Docker never need it.
"""
