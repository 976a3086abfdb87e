"""Community input and the organiser loop: suggestions, moderation,
organiser links, the mail outbox."""
