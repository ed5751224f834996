"""Development-only tooling: the Zoho sandbox and the OpenID Connect provider. Never deployed."""
