"""Open data out: every Open Referral UK endpoint and filter, the OpenActive RPDE feed and its
dataset page, and the API's own OpenAPI document."""
