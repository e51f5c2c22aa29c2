"""What runs orchestrations and activities: the runtime and what it is configured with.

* runtime.py       Runtime (dispatchers on native threads) and MetricsSnapshot
* registry.py      Registry: registrations apart from any runtime; loader.py finds the one a
                   command names (MODULE:ATTR)
* options.py       RuntimeOptions and TagFilter
* activity.py      ActivityContext and current_activity()
* driver.py        the functions the native core calls for every step of user code
* capabilities.py  what a worker offers (detected and configured capabilities)
* logging.py       the log pump; _log_sink.py the record sink the native module imports

This package's __init__ imports nothing: the native module imports worker._log_sink while it
initializes, before the rest of the package can load. The public names are exported by the
`duroxide` package; import them from there.
"""
