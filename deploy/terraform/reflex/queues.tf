# The dead-letter queue (events EventBridge or Lambda could not deliver, and
# SQS messages reflex could not process), and for runtime "sqs" the queue
# `reflex serve` drains.

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to look and replay
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "findings" {
  count = var.runtime == "sqs" ? 1 : 0

  name                       = "${var.name}-findings"
  visibility_timeout_seconds = 300
  message_retention_seconds  = 1209600
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 5
  })
  tags = var.tags
}

# EventBridge may send to the queues (the findings queue, and the DLQ of the
# rules' targets).
data "aws_iam_policy_document" "queues" {
  for_each = { for k, q in merge({ dlq = aws_sqs_queue.dlq.arn }, var.runtime == "sqs" ? { findings = aws_sqs_queue.findings[0].arn } : {}) : k => q }

  statement {
    sid       = "EventBridgeSend"
    actions   = ["sqs:SendMessage"]
    resources = [each.value]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for r in aws_cloudwatch_event_rule.findings : r.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "queues" {
  for_each = data.aws_iam_policy_document.queues

  queue_url = each.key == "dlq" ? aws_sqs_queue.dlq.id : aws_sqs_queue.findings[0].id
  policy    = each.value.json
}
