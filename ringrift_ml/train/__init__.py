"""Training the network of :mod:`ringrift_ml.nn` on the lake's samples: the config,
datasets, the training loop with its resumable state, held-out evaluation and value-head
calibration, monitoring and ``ringrift train``.  Depends on torch (the ``pipeline``
extra); the rules and players never import this package."""
