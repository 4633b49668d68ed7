"""The DynamoDB store, split by aggregate: content and plans (content.py), the people ledger
(ledger.py), the inbox (inbox.py) and the account's records (records.py). All share one
table and one connection (base.bind). Import the aggregate a job needs from its module:
a job then loads only its own part of the store."""

from flockpilot.adapters.dynamo.base import bind, create_table

__all__ = ["bind", "create_table"]
