variable "role_name" {
  description = "Name of the response role in this member account; reflex's accounts configuration names it (role: reflex-responder, or an ARN template)."
  type        = string
  default     = "reflex-responder"
}

variable "responder_role_arn" {
  description = "ARN of reflex's own role in the security account (the reflex module's role_arn output): the only principal allowed to assume this role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.responder_role_arn))
    error_message = "responder_role_arn must be an IAM role ARN."
  }
}

variable "external_id" {
  description = "External id reflex presents when assuming the role (the accounts configuration's external_id): guards against the confused deputy."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.external_id) >= 16
    error_message = "external_id must be at least 16 characters."
  }
}

variable "response_policy_json" {
  description = "The permissions of the role: `reflex iam-policy -c reflex.yaml` (its `member_role.permissions_policy` document) — the same least-privilege policy as reflex's own role."
  type        = string
}

variable "max_session_seconds" {
  description = "Maximum session duration of the role, in seconds (3600-43200)."
  type        = number
  default     = 3600
}

variable "tags" {
  description = "Tags added to the role. Keep reflex:protected=true on it so reflex never acts on its own role."
  type        = map(string)
  default     = { "reflex:protected" = "true" }
}

variable "isolation_vpc_ids" {
  description = "VPCs of this account (in the provider's region) to make reflex's isolation groups in (reflex-untrack, reflex-isolation: the isolation-groups module), so that ec2.isolate and ec2.contain find them ready. Empty: the steps create them when they first contain an instance there."
  type        = list(string)
  default     = []
}
