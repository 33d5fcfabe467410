output "role_name" {
  description = "Name of the grant's IAM role."
  value       = aws_iam_role.grant.name
}

output "role_arn" {
  description = "ARN of the grant's IAM role (what the user picks in the SAML sign-in)."
  value       = aws_iam_role.grant.arn
}

output "max_session_duration" {
  description = "The role's maximum session duration in seconds."
  value       = aws_iam_role.grant.max_session_duration
}

output "window" {
  description = "The window AWS enforces: start (null = no lower bound) and end (exclusive)."
  value       = module.window.window
}
