"""Clients: start orchestrations, send them events and messages, read and manage instances.

* api.py         ClientAPI, the one definition of every client operation (signatures, return
                 types, docstrings); `operations()` enumerates them
* base.py        ClientBase: the operations built on others (`*_typed`, actor, submit, ...),
                 written once for every implementation
* native.py      Client, on a provider (in process, through the C++ core)
* http.py        HttpClient, the same operations over the REST API of `duroxide server`;
                 transport.py is its connections, long-polls and problem documents
* aio.py         AsyncClient and AsyncHttpClient: every operation as a coroutine, generated
                 from ClientAPI; aio_waiters.py is the waiter registry behind their waits
* results.py     what both return: OrchestrationResult, messaging records, task-graph views
* workers.py     WorkerInfo, UnservableWork and the diagnosis of unservable work
* graph_view.py  the task-graph view read from an instance's history

The public names are exported by the `duroxide` package; import them from there.
"""
