# The reflex Lambda function: the static `bootstrap` binary on the OS-only
# runtime, bounded concurrency, retries and a dead-letter queue.

resource "aws_cloudwatch_log_group" "reflex" {
  count = var.runtime == "lambda" ? 1 : 0

  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "reflex" {
  count = var.runtime == "lambda" ? 1 : 0

  function_name                  = var.name
  description                    = "reflex: automatic, safe and reversible response to GuardDuty findings"
  role                           = aws_iam_role.reflex.arn
  filename                       = var.lambda_zip
  source_code_hash               = filebase64sha256(var.lambda_zip)
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.lambda_architecture]
  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = merge(
      # No garbage collection during package initialisation (it freed
      # nothing and took a third of the cold start), the heap bounded under
      # the function's memory; reflex setup sets the same (setup.LambdaGOGC).
      { GOGC = "400", GOMEMLIMIT = "${floor(var.lambda_memory_mb * 0.8)}MiB" },
      var.create_ledger_table ? { REFLEX_LEDGER = "dynamodb://${aws_dynamodb_table.ledger[0].name}" } : {},
      # The configuration: the SSM parameter, or the reflex.yaml packaged in
      # the zip (relative to $LAMBDA_TASK_ROOT); reflex setup sets the same.
      { REFLEX_CONFIG = var.config_ssm_parameter != "" ? "ssm:${var.config_ssm_parameter}" : "reflex.yaml" },
    )
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.reflex, aws_iam_role_policy.baseline]
}

resource "aws_lambda_function_event_invoke_config" "reflex" {
  count = var.runtime == "lambda" ? 1 : 0

  function_name                = aws_lambda_function.reflex[0].function_name
  maximum_retry_attempts       = var.max_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

resource "aws_lambda_permission" "events" {
  for_each = var.runtime == "lambda" ? aws_cloudwatch_event_rule.findings : {}

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.reflex[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value.arn
}
