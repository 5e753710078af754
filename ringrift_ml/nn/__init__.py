"""Networks for RingRift: grids, the spatial encoding, the exact move encoding,
symmetries' use in training, and the policy/value network.

The rules package knows nothing of this one; this one reads positions only through the
rules' public read surface (``rules.view``) and knows nothing of Dagster.

Modules: ``grid`` (boards as 2-D grids), ``features`` (the named, versioned state
encoding), ``policy`` (every legal decision's policy index), ``net`` (the residual
CNN, torch), ``samples`` (training samples of a game record), ``augment`` (training
and inference under the board's symmetries).
"""
