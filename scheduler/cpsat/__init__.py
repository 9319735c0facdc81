"""The OR-Tools side of the scheduler: CP-SAT models, search, LNS and the LP bound.

Only the modules of this package import OR-Tools; ``import scheduler`` never loads it (it takes a
second or more), ``scheduler.solve`` imports ``scheduler.cpsat.search`` when a component needs
improving.
"""
