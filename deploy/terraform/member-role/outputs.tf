output "role_arn" {
  description = "ARN of the response role: list it in the reflex module's member_role_arns."
  value       = aws_iam_role.responder.arn
}

output "role_name" {
  description = "Name of the response role."
  value       = aws_iam_role.responder.name
}

output "isolation_group_ids" {
  description = "reflex's groups made in isolation_vpc_ids, by VPC id: { untrack = sg-…, isolation = sg-… }."
  value = { for vpc in var.isolation_vpc_ids : vpc => {
    untrack   = module.isolation_groups.untrack_group_ids[vpc]
    isolation = module.isolation_groups.isolation_group_ids[vpc]
  } }
}
