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
  description = "Seconds: always 3600, AWS's minimum (the window policy, not the session length, ends access)."
  value       = local.max_session_duration
}

output "trust_policy_json" {
  description = "Assume-role policy: sts:AssumeRoleWithSAML (with sts:TagSession, sts:SetSourceIdentity) from saml_provider_arn, only when saml:sub equals the principal, SAML:aud is a sign-in endpoint of the partition, and only inside the window."
  value       = jsonencode(local.trust_policy)

  precondition {
    condition     = var.starts_at == null || timecmp(coalesce(var.starts_at, var.expires_at), var.expires_at) < 0
    error_message = "starts_at must be before expires_at: fix the grant file."
  }
  precondition {
    condition     = split(":", var.saml_provider_arn)[1] == var.partition
    error_message = "saml_provider_arn is in another partition than the account (${var.partition}): use the SAML provider of the account's own partition in the catalog."
  }
}

output "window_policy_json" {
  description = "Inline policy: Deny * when aws:CurrentTime >= expires_at or < starts_at, Deny * for sessions whose aws:TokenIssueTime is outside the window, Deny sts:AssumeRole (role chaining) from expires_at - 1h, and the self-modification deny."
  value       = jsonencode(local.window_policy)
}

output "window" {
  description = "The normalized window: start (null = when applied) and end (exclusive)."
  value       = { start = var.starts_at, end = var.expires_at }
}

output "description" {
  description = "The role's description: grant id, principal (in IAM-safe form, see principal_label) and expires_at."
  value       = local.description
}

output "principal_label" {
  description = "The principal as IAM tags and descriptions can hold it: itself when made of A-Za-z0-9_.:/=+@-, else b64:<base64 of UTF-8>, or sha256:<hex> when that is longer than 256."
  value       = local.principal_label
}

output "tags" {
  description = "Tags for the role: jitctl:grant-id, jitctl:principal (principal_label), jitctl:expires-at (and jitctl:starts-at)."
  value       = local.tags
}

output "policy_arns" {
  description = "The managed policy ARNs, de-duplicated and sorted."
  value       = sort(distinct(var.policy_arns))
}
