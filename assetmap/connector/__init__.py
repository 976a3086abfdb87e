"""What a referral needs to know about a listing, beyond where and when: whether it is
taking newcomers, the languages it runs in, and what the connectors who went say."""
