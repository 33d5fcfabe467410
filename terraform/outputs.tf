output "summary" {
  description = "Grants per module, pending, and dropped-expired counts (no principals, no secrets)."
  value       = module.grants.summary
}

output "expired_dropped" {
  description = "Grant ids render passed although expired (should always be empty)."
  value       = module.grants.expired
}

output "aws_roles" {
  description = "Grant id -> IAM role ARN."
  value       = { for id, m in module.aws_iam_role : id => m.role_arn }
}
