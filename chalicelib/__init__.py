"""Shared code of the Zoho External Connections service (deployed with the Chalice app)."""
