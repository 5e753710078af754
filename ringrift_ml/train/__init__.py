"""Learning from the training samples: a policy/value network, its training loop
and value-head calibration.  Depends on torch (the ``pipeline`` extra); the rules
and players never import this package."""
