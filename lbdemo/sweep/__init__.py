"""Sweeps: the consistency pipeline once per point of one or more varied parameters, the
measured rates beside a model's prediction (``lbdemo sweep``, docs/model.md).

``params.py`` is the one table from a sweep parameter to the demo option it sets; ``model.py``
predicts the stale-read rate; ``run.py`` runs the points; ``document.py`` and ``chart.py``
write ``sweep.json``/``.md`` and ``sweep.html``.
"""
