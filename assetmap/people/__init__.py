"""People and their areas: accounts, roles, areas looked after, invitations and
one-time set-password links."""
