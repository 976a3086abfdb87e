"""Running the service day to day: the coordinator home's counts, the outbox, trends."""
