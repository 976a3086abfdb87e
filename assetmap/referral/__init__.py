"""What a listing says for a referral to work, as values every way in shares:
taking newcomers (intake) and the languages a session runs in."""
