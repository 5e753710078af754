"""The version of the rules this engine implements.

Game records carry it (``rulesVersion``), so that a record that no longer replays
says why.  It is raised whenever a change makes some legal game of the previous
version illegal or makes it end differently; ``docs/rules-engine.md`` lists what
each version changed.
"""

RULES_VERSION = 4
