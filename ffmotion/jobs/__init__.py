"""Batch pieces: inputs and their output names, executors, reports (batch.py is the front)."""
