"""Real federation for recording sample rooms: Synapse homeservers behind a partition proxy.

``proxy``: a TLS-terminating TCP proxy in front of every homeserver's federation
listener that can cut and restore the links between chosen servers;
``harness``: starts the homeservers, users and rooms, partitions, heals, waits for
convergence and fetches the room from every server with roomscope's own fetcher;
``scenarios``: the scripted stories; ``tools/record_federation.py`` runs them.
matrix-synapse is a test dependency: nothing here is imported by roomscope itself.
"""
