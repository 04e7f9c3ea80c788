"""Pure Matrix logic: events, hashes, room versions, auth rules, state resolution.

No Qt, no httpx, no file or network I/O.
"""
