"""The reloader: a supervisor process that holds the socket, and a watcher in its child.

``supervisor`` (parent) runs the server as a child with ``RUN_MAIN=true`` and restarts it;
``child`` and ``watcher`` are the child's side; ``paths`` decides what is watched. The two
sides share only what ``handoff`` defines: environment variables and one control socket.
"""
