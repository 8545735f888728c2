# The cross-account response role reflex assumes in a member account: trusted
# by reflex's role only, with the external id, holding the permissions the
# configuration's steps need and nothing more.

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.responder_role_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

resource "aws_iam_role" "responder" {
  name                 = var.role_name
  description          = "Assumed by reflex to respond to GuardDuty findings in this account"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_seconds
  tags                 = var.tags
}

resource "aws_iam_role_policy" "response" {
  name   = "${var.role_name}-response"
  role   = aws_iam_role.responder.id
  policy = var.response_policy_json
}

# reflex's untrack and isolation groups in this account's VPCs, made ahead
# so that containment here does not wait for their creation.
module "isolation_groups" {
  source = "../isolation-groups"

  vpc_ids = var.isolation_vpc_ids
}
