"""Floors: the fastest this machine lets a path be, measured beside govwallet.

:mod:`bench.floor.bare_verification` is scenario 5's: a presentation verified with
nothing but the decoding, the digests and the two signatures. The others are servers,
the fastest a server on each platform can answer one connection on this machine.

At one connection a request is a round trip between two processes: the load generator
wakes the server, the server wakes the load generator. The servers here answer every
``GET`` with the same bytes, so what they measure is that round trip and the platform's
event loop, nothing of HTTP servers or applications (bench/README.md, "Floors").
"""
