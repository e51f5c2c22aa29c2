"""Clients: start orchestrations, send them events and messages, read and manage instances.

* native.py    Client, on a provider (in process, through the C++ core); its method groups
               are mixins: _management.py (listing, inspection, deletion, pruning, metrics),
               _fleet.py (worker registry), _messaging.py (messages, topics, actors, dead
               letters), _graphs.py (task graphs, task cache, capability-routed work)
* http.py      HttpClient, the same operations over the REST API of `duroxide server`
* results.py   OrchestrationResult, what both return for an instance's status

The public names are exported by the `duroxide` package; import them from there.
"""
