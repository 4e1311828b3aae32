"""Users, credentials, sessions and tokens, profiles, export and deletion."""
