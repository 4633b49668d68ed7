"""Pure domain rules: data in, decisions out. No boto3, tweepy or clock calls here."""
