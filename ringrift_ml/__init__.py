"""RingRift Lab: rules engine, search, training and data pipeline for RingRift."""

__version__ = "0.1.0"
