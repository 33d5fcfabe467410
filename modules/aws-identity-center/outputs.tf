output "permission_set_arn" {
  description = "ARN of the grant's permission set."
  value       = aws_ssoadmin_permission_set.grant.arn
}

output "permission_set_name" {
  description = "Name of the grant's permission set (what the user picks in the AWS access portal)."
  value       = aws_ssoadmin_permission_set.grant.name
}

output "window" {
  description = "The window AWS enforces: start (null = no lower bound) and end (exclusive)."
  value       = module.window.window
}
