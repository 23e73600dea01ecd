"""Use cases: load through repositories, decide with the domain, write, record events.

Services never commit: the edge that opened the unit of work does.
"""
