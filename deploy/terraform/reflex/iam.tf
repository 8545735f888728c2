# reflex's own role: the generated least-privilege response policy, plus what
# the runtime itself needs (logs, ledger, topic, queues, configuration,
# assuming member-account roles). The role is reflex's own infrastructure:
# the configuration's guards keep reflex from ever acting on it.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "reflex" {
  name               = var.name
  description        = "reflex responder"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "response" {
  name   = "${var.name}-response"
  role   = aws_iam_role.reflex.id
  policy = var.response_policy_json
}

data "aws_iam_policy_document" "baseline" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name}:*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = var.runtime == "sqs" ? [1] : []
    content {
      sid       = "DrainFindings"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
      resources = [aws_sqs_queue.findings[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.create_ledger_table ? [1] : []
    content {
      sid       = "Ledger"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:TransactWriteItems", "dynamodb:DescribeTable"]
      resources = [aws_dynamodb_table.ledger[0].arn, "${aws_dynamodb_table.ledger[0].arn}/index/*"]
    }
  }

  dynamic "statement" {
    for_each = var.create_sns_topic ? [1] : []
    content {
      sid       = "Notify"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.reflex[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.config_ssm_parameter != "" ? [1] : []
    content {
      sid       = "Configuration"
      actions   = ["ssm:GetParameter"]
      resources = ["arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(var.config_ssm_parameter, "/")}"]
    }
  }

  dynamic "statement" {
    for_each = length(var.member_role_arns) > 0 ? [1] : []
    content {
      sid       = "MemberAccounts"
      actions   = ["sts:AssumeRole"]
      resources = var.member_role_arns
    }
  }
}

resource "aws_iam_role_policy" "baseline" {
  name   = "${var.name}-runtime"
  role   = aws_iam_role.reflex.id
  policy = data.aws_iam_policy_document.baseline.json
}
