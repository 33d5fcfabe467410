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

output "aws_permission_sets" {
  description = "Grant id -> Identity Center permission set ARN."
  value       = { for id, m in module.aws_identity_center : id => m.permission_set_arn }
}

output "aws_quota_usage" {
  description = "Permission sets per Identity Center instance and roles per account that the grants use, with AWS's default quotas."
  value       = module.grants.aws_quota_usage
}
