"""Offline evaluation: public datasets, baselines, metrics, and serving replayed on history."""
