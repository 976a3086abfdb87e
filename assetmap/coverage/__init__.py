"""Coverage gaps: which streets have nothing fresh within a walk."""
