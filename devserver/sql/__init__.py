"""Each request's SQL: how many queries it ran and for how long, on its access line.

A request's queries are counted in a :class:`~devserver.sql.tally.QueryTally` held in a
context variable for the duration of the request (:mod:`devserver.sql.accounting`), so
concurrent requests on other threads never mix, queries run while a streaming response is
iterated still count, and asgiref's ``sync_to_async`` carries the tally into its threads.
"""
