"""Shua (刷): a self-hostable short-video super-app."""

__version__ = "0.1.0"
