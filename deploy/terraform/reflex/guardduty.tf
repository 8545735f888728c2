# The GuardDuty detector and its protection plans (the brief's create-detector
# and update-detector --data-sources), as detector features: the current API.

locals {
  detector_id = var.create_detector ? aws_guardduty_detector.this[0].id : var.detector_id

  features = {
    S3_DATA_EVENTS         = var.s3_data_events
    EKS_AUDIT_LOGS         = var.eks_audit_logs
    EBS_MALWARE_PROTECTION = var.ebs_malware_protection
    RDS_LOGIN_EVENTS       = var.rds_login_events
    LAMBDA_NETWORK_LOGS    = var.lambda_network_logs
  }

  runtime_addons = ["EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT"]
}

resource "aws_guardduty_detector" "this" {
  count = var.create_detector ? 1 : 0

  enable                       = true
  finding_publishing_frequency = var.finding_publishing_frequency
  tags                         = var.tags
}

resource "aws_guardduty_detector_feature" "this" {
  for_each = local.features

  detector_id = local.detector_id
  name        = each.key
  status      = each.value ? "ENABLED" : "DISABLED"
}

resource "aws_guardduty_detector_feature" "runtime_monitoring" {
  detector_id = local.detector_id
  name        = "RUNTIME_MONITORING"
  status      = var.runtime_monitoring ? "ENABLED" : "DISABLED"

  dynamic "additional_configuration" {
    for_each = var.runtime_monitoring ? local.runtime_addons : []
    content {
      name   = additional_configuration.value
      status = var.runtime_monitoring_agent_management ? "ENABLED" : "DISABLED"
    }
  }
}

# Organisation: auto-enable members and their protection plans (the brief's
# update-organization-configuration --auto-enable).
resource "aws_guardduty_organization_configuration" "this" {
  count = var.manage_organization ? 1 : 0

  detector_id                      = local.detector_id
  auto_enable_organization_members = var.auto_enable_organization_members
}

resource "aws_guardduty_organization_configuration_feature" "this" {
  for_each = var.manage_organization ? { for k, v in local.features : k => v if v } : {}

  detector_id = local.detector_id
  name        = each.key
  auto_enable = var.auto_enable_organization_members
}

resource "aws_guardduty_organization_configuration_feature" "runtime_monitoring" {
  count = var.manage_organization && var.runtime_monitoring ? 1 : 0

  detector_id = local.detector_id
  name        = "RUNTIME_MONITORING"
  auto_enable = var.auto_enable_organization_members

  dynamic "additional_configuration" {
    for_each = var.runtime_monitoring_agent_management ? local.runtime_addons : []
    content {
      name        = additional_configuration.value
      auto_enable = var.auto_enable_organization_members
    }
  }
}
