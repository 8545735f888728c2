output "untrack_group_ids" {
  description = "Id of reflex's untrack group (reflex-untrack), by VPC id."
  value       = { for vpc, g in aws_security_group.untrack : vpc => g.id }
}

output "isolation_group_ids" {
  description = "Id of reflex's isolation group (reflex-isolation), by VPC id."
  value       = { for vpc, g in aws_security_group.isolation : vpc => g.id }
}
