"""Fan-out: the connection hub, per-meeting runtimes and the broker between workers."""
