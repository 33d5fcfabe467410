output "role_name" {
  description = "Role name: role_name_prefix + grant id, or a 55-character head + '-' + 8 hex of sha256(grant id) when longer than 64."
  value       = local.role_name
}

output "role_arn" {
  description = "The ARN the role will have (computed, so it is known at plan time)."
  value       = local.role_arn
}

output "role_path" {
  description = "IAM path of the role."
  value       = var.role_path
}

output "max_session_duration" {
  description = "Seconds: what is left of the grant, rounded down to whole hours, clamped to 3600..43200."
  value       = local.max_session_duration
}

output "trust_policy_json" {
  description = "Assume-role policy: sts:AssumeRoleWithSAML from saml_provider_arn, only when saml:sub equals the principal and only inside the window."
  value       = jsonencode(local.trust_policy)

  precondition {
    condition     = var.starts_at == null || timecmp(coalesce(var.starts_at, var.expires_at), var.expires_at) < 0
    error_message = "starts_at must be before expires_at: fix the grant file."
  }
}

output "window_policy_json" {
  description = "Inline policy with the time-window denies (Deny * when aws:CurrentTime >= expires_at or < starts_at) and the self-modification deny."
  value       = jsonencode(local.window_policy)
}

output "window" {
  description = "The normalized window: start (null = when applied) and end (exclusive)."
  value       = { start = var.starts_at, end = var.expires_at }
}

output "tags" {
  description = "Tags for the role: jitctl:grant-id, jitctl:principal, jitctl:expires-at (and jitctl:starts-at)."
  value       = local.tags
}

output "policy_arns" {
  description = "The managed policy ARNs, de-duplicated and sorted."
  value       = sort(distinct(var.policy_arns))
}
