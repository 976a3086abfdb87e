"""How fresh each listing is: the rules, the cached due dates, the queue."""
