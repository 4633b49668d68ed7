"""Dev-only tools: the X sandbox, the DynamoDB Local launcher, the local stack. Never deployed."""
