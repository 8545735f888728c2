variable "name" {
  description = "Name prefix of every resource this module creates."
  type        = string
  default     = "reflex"

  validation {
    condition     = can(regex("^[A-Za-z0-9-_]{1,40}$", var.name))
    error_message = "name must be 1-40 letters, digits, - or _."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# --- GuardDuty ---------------------------------------------------------------

variable "create_detector" {
  description = "Create the GuardDuty detector in this account and region. Set false when a detector exists already and give its id in detector_id."
  type        = bool
  default     = true
}

variable "detector_id" {
  description = "Id of an existing GuardDuty detector (used when create_detector is false)."
  type        = string
  default     = ""
}

variable "finding_publishing_frequency" {
  description = "How often GuardDuty re-publishes updated findings to EventBridge: FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS. Short keeps response timely for repeated activity."
  type        = string
  default     = "FIFTEEN_MINUTES"

  validation {
    condition     = contains(["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"], var.finding_publishing_frequency)
    error_message = "finding_publishing_frequency must be FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  }
}

variable "s3_data_events" {
  description = "Enable S3 Protection (S3 data events)."
  type        = bool
  default     = true
}

variable "eks_audit_logs" {
  description = "Enable EKS Protection (EKS audit logs)."
  type        = bool
  default     = true
}

variable "ebs_malware_protection" {
  description = "Enable Malware Protection for EC2 (scan EBS volumes of instances with findings)."
  type        = bool
  default     = true
}

variable "runtime_monitoring" {
  description = "Enable Runtime Monitoring (EKS, ECS Fargate, EC2)."
  type        = bool
  default     = true
}

variable "runtime_monitoring_agent_management" {
  description = "Let GuardDuty manage the runtime security agent (EKS add-on, ECS Fargate, EC2) when runtime_monitoring is on."
  type        = bool
  default     = true
}

variable "rds_login_events" {
  description = "Enable RDS Protection (RDS login activity)."
  type        = bool
  default     = true
}

variable "lambda_network_logs" {
  description = "Enable Lambda Protection (Lambda network activity logs)."
  type        = bool
  default     = true
}

variable "manage_organization" {
  description = "This account is the GuardDuty delegated administrator: configure the organisation (auto-enable members and their protection plans). Requires the delegated administrator to have been set from the management account (reflex setup org --admin-account ID, or aws_guardduty_organization_admin_account there)."
  type        = bool
  default     = false
}

variable "auto_enable_organization_members" {
  description = "With manage_organization: which member accounts GuardDuty enables automatically: ALL, NEW or NONE."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "NEW", "NONE"], var.auto_enable_organization_members)
    error_message = "auto_enable_organization_members must be ALL, NEW or NONE."
  }
}

# --- What reflex receives ------------------------------------------------------

variable "event_patterns" {
  description = "EventBridge patterns (JSON strings) forwarding the findings some rule can match: the output of `reflex eventbridge-pattern -c reflex.yaml -o json` (its `patterns` list). Each becomes one EventBridge rule. Empty forwards every GuardDuty finding."
  type        = list(string)
  default     = []
}

variable "runtime" {
  description = "How reflex runs: lambda (EventBridge invokes the function) or sqs (EventBridge feeds an SQS queue that `reflex serve` drains)."
  type        = string
  default     = "lambda"

  validation {
    condition     = contains(["lambda", "sqs"], var.runtime)
    error_message = "runtime must be lambda or sqs."
  }
}

# --- The Lambda function -------------------------------------------------------

variable "lambda_zip" {
  description = "Path of the Lambda package built by `scripts/build-lambda.sh ARCH` (a zip holding the static `bootstrap` binary). Required when runtime is lambda."
  type        = string
  default     = ""
}

variable "lambda_architecture" {
  description = "Lambda architecture of lambda_zip: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the Lambda function, in MB."
  type        = number
  default     = 256
}

variable "lambda_timeout_seconds" {
  description = "Timeout of one invocation. Response steps start snapshots and do not wait for them, so a minute is ample."
  type        = number
  default     = 120
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function: bounds how many findings are handled at once (and so the pressure on AWS APIs during a burst). -1 for unreserved."
  type        = number
  default     = 10
}

variable "max_retry_attempts" {
  description = "How many times Lambda retries a failed asynchronous invocation (0-2) before the event goes to the dead-letter queue."
  type        = number
  default     = 2
}

variable "max_event_age_seconds" {
  description = "How long an undelivered event is retried (60-21600 seconds) before it goes to the dead-letter queue."
  type        = number
  default     = 21600
}

variable "config_ssm_parameter" {
  description = "Name of the SSM parameter (String or SecureString) holding the reflex configuration; the function reads it at start (REFLEX_CONFIG=ssm:NAME). Empty: the configuration is the reflex.yaml packaged in lambda_zip."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group, in days."
  type        = number
  default     = 365
}

# --- Permissions ---------------------------------------------------------------

variable "response_policy_json" {
  description = "The least-privilege policy of the configuration's steps: `reflex iam-policy -c reflex.yaml` (its `member_role.permissions_policy` document). Attached to reflex's role."
  type        = string
}

variable "member_role_arns" {
  description = "ARNs (or ARN patterns) of the response roles in member accounts reflex may assume (the member-role module's role_arn outputs, or arn:aws:iam::*:role/reflex-responder)."
  type        = list(string)
  default     = []
}

# --- Ledger and notifications --------------------------------------------------

variable "create_ledger_table" {
  description = "Create the DynamoDB table of reflex's ledger (needed for Lambda and for several `reflex serve` machines)."
  type        = bool
  default     = true
}

variable "ledger_ttl_days" {
  description = "Days after which ledger records expire through DynamoDB TTL (0 keeps them forever)."
  type        = number
  default     = 400
}

variable "create_sns_topic" {
  description = "Create an SNS topic reflex publishes its messages to."
  type        = bool
  default     = true
}

variable "notification_emails" {
  description = "E-mail addresses subscribed to the SNS topic (each must confirm)."
  type        = list(string)
  default     = []
}

# --- Isolation groups ---------------------------------------------------------

variable "isolation_vpc_ids" {
  description = "VPCs of this account (in the provider's region) to make reflex's isolation groups in (reflex-untrack, reflex-isolation: the isolation-groups module), when reflex also isolates instances of this account. Member accounts: the member-role module's isolation_vpc_ids."
  type        = list(string)
  default     = []
}
