output "principal_id" {
  description = "The Entra object id the role is assigned to (lower-cased)."
  value       = lower(var.principal)
}

output "scope" {
  description = "The scope of the assignment."
  value       = var.scope
}

output "role_definition_name" {
  description = "The role's name."
  value       = var.role_definition_name
}

output "schedule" {
  description = "start_date_time (null = when applied) and end_date_time of the PIM schedule."
  value       = local.schedule

  precondition {
    condition     = var.starts_at == null || timecmp(coalesce(var.starts_at, var.expires_at), var.expires_at) < 0
    error_message = "starts_at must be before expires_at: fix the grant file."
  }
}

output "justification" {
  description = "The PIM justification: 'jitctl grant <id>: <reason>', at most 500 characters."
  value       = local.justification
}

output "ticket" {
  description = "The PIM ticket block ({number, system = \"jitctl\"}) or null."
  value       = local.ticket
}

output "window" {
  description = "The normalized window: start (null = when applied) and end (exclusive)."
  value       = { start = var.starts_at, end = var.expires_at }
}
