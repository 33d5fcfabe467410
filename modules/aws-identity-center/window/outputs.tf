output "name" {
  description = "Permission set name: jit-<grant id>, or a 23-character head + '-' + 8 hex of sha256(grant id) when longer than 32."
  value       = local.name
}

output "description" {
  description = "Permission set description: grant id and window (no principal: descriptions allow Latin-1 only)."
  value       = local.description
}

output "session_duration" {
  description = "Always PT1H, AWS's minimum: the window policy, not the session length, ends access."
  value       = local.session_duration
}

output "inline_policy_json" {
  description = "Inline policy: Deny * when aws:CurrentTime >= expires_at or < starts_at, Deny * for sessions issued outside the window (aws:TokenIssueTime), Deny sts:AssumeRole from expires_at - 1h."
  value       = jsonencode(local.inline_policy)

  precondition {
    condition     = var.starts_at == null || timecmp(coalesce(var.starts_at, var.expires_at), var.expires_at) < 0
    error_message = "starts_at must be before expires_at: fix the grant file."
  }
}

output "principal_type" {
  description = "USER, or GROUP for a principal written group:<display name>."
  value       = local.principal_type
}

output "principal_name" {
  description = "The user name, or the group's display name, to look up in the identity store."
  value       = local.principal_name
}

output "policy_arns" {
  description = "The managed policy ARNs, de-duplicated and sorted."
  value       = sort(distinct(var.policy_arns))
}

output "tags" {
  description = "Tags for the permission set: jitctl:grant-id, jitctl:expires-at (and jitctl:starts-at)."
  value       = local.tags
}

output "window" {
  description = "The normalized window: start (null = when applied) and end (exclusive)."
  value       = { start = var.starts_at, end = var.expires_at }
}
