# The DynamoDB ledger (store/dynamodb documents the item design): one table,
# on-demand capacity, point-in-time recovery, TTL for old records.

resource "aws_dynamodb_table" "ledger" {
  count = var.create_ledger_table ? 1 : 0

  name         = "${var.name}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Sparse indexes: "work" holds decisions that still need work and pending
  # intents, "list" the listings of `reflex history`.
  dynamic "attribute" {
    for_each = ["wk", "wt", "lk", "lt"]
    content {
      name = attribute.value
      type = "S"
    }
  }

  global_secondary_index {
    name            = "work"
    hash_key        = "wk"
    range_key       = "wt"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "list"
    hash_key        = "lk"
    range_key       = "lt"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = var.ledger_ttl_days > 0
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = true
  tags                        = var.tags
}
