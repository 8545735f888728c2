output "detector_id" {
  description = "Id of the GuardDuty detector reflex's rules receive findings from."
  value       = local.detector_id
}

output "event_rule_arns" {
  description = "ARNs of the EventBridge rules forwarding findings to reflex."
  value       = [for r in aws_cloudwatch_event_rule.findings : r.arn]
}

output "role_arn" {
  description = "ARN of reflex's role: trust it from the member-role module (responder_role_arn)."
  value       = aws_iam_role.reflex.arn
}

output "function_arn" {
  description = "ARN of the reflex Lambda function (empty when runtime is sqs)."
  value       = var.runtime == "lambda" ? aws_lambda_function.reflex[0].arn : ""
}

output "queue_url" {
  description = "URL of the queue `reflex serve` drains (empty when runtime is lambda): pass it to reflex serve --queue-url."
  value       = var.runtime == "sqs" ? aws_sqs_queue.findings[0].url : ""
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue holding events reflex could not take."
  value       = aws_sqs_queue.dlq.url
}

output "ledger_table" {
  description = "Name of the DynamoDB ledger table (empty when not created): REFLEX_LEDGER=dynamodb://NAME."
  value       = var.create_ledger_table ? aws_dynamodb_table.ledger[0].name : ""
}

output "sns_topic_arn" {
  description = "ARN of the SNS topic reflex publishes to (empty when not created): name it in the configuration's notifications (an sns channel)."
  value       = var.create_sns_topic ? aws_sns_topic.reflex[0].arn : ""
}

output "isolation_group_ids" {
  description = "reflex's groups made in isolation_vpc_ids, by VPC id: { untrack = sg-…, isolation = sg-… }."
  value = { for vpc in var.isolation_vpc_ids : vpc => {
    untrack   = module.isolation_groups.untrack_group_ids[vpc]
    isolation = module.isolation_groups.isolation_group_ids[vpc]
  } }
}
