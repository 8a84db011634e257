"""Running things: the one safe-write rule (:mod:`ffmotion.run.outputs`).

Wave 2 grows the runner into this folder (subprocesses, outputs, signals); the integrator
moves ``runner.py`` here at the end.
"""
