"""The DynamoDB store, split by aggregate: content and plans, the people ledger, the inbox,
and the account's records. All share one table and one connection (base.bind)."""

from flockpilot.adapters.dynamo.base import bind, create_table
from flockpilot.adapters.dynamo.content import DynamoContentPlans
from flockpilot.adapters.dynamo.inbox import DynamoInbox
from flockpilot.adapters.dynamo.ledger import DynamoLedger
from flockpilot.adapters.dynamo.records import DynamoRecords

__all__ = ["DynamoContentPlans", "DynamoInbox", "DynamoLedger", "DynamoRecords", "bind", "create_table"]
