# The topic reflex announces decisions and step results on.

resource "aws_sns_topic" "reflex" {
  count = var.create_sns_topic ? 1 : 0

  name              = var.name
  kms_master_key_id = "alias/aws/sns"
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.create_sns_topic ? toset(var.notification_emails) : toset([])

  topic_arn = aws_sns_topic.reflex[0].arn
  protocol  = "email"
  endpoint  = each.value
}
