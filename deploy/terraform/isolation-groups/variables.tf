variable "vpc_ids" {
  description = "VPCs to make reflex's untrack and isolation groups in: every VPC whose instances reflex may isolate (ec2.isolate, ec2.contain). Empty: none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for v in var.vpc_ids : can(regex("^vpc-[0-9a-f]+$", v))])
    error_message = "vpc_ids must be VPC ids (vpc-...)."
  }
}

variable "tags" {
  description = "Tags added to the groups (reflex:isolation and Name are set by the module and win)."
  type        = map(string)
  default     = {}
}
