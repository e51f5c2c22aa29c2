"""What orchestration code touches. Deterministic and replayed: nothing here does I/O.

* context.py             OrchestrationContext and the task descriptors it builds
* messaging.py           the context's messaging calls; messages.py the Message and Request
                         values and envelopes; actors.py durable actors
* graphs.py              task graphs (@task functions, TaskHandle, the graph orchestration)
* requirements.py        capability requirements (JSON Schema) of activities
* generator.py           running a generator one step at a time (start/step), and
  generator_protocol.py  the JSON form of that protocol (api.md 1.13)

The public names are exported by the `duroxide` package; import them from there.
"""
