output "role_arn" {
  description = "ARN of the response role: list it in the reflex module's member_role_arns."
  value       = aws_iam_role.responder.arn
}

output "role_name" {
  description = "Name of the response role."
  value       = aws_iam_role.responder.name
}
