"""Adapters: X (tweepy), the store (PynamoDB), mail (SES), secrets and time."""
