"""Adapters: X (OAuth 1.0a over HTTPS), the store (PynamoDB), mail (SES), secrets and time."""
