output "member" {
  description = "The IAM member: the principal if it has a user:/group:/serviceAccount: prefix, else user:<principal>."
  value       = local.member
}

output "project" {
  description = "The project the binding is on."
  value       = var.project
}

output "role" {
  description = "The role of the binding (never a basic role)."
  value       = var.role
}

output "condition" {
  description = "The IAM Condition: title (<= 100 characters), description, and the CEL expression on request.time."
  value = {
    title       = local.title
    description = local.description
    expression  = local.expression
  }

  precondition {
    condition     = var.starts_at == null || timecmp(coalesce(var.starts_at, var.expires_at), var.expires_at) < 0
    error_message = "starts_at must be before expires_at: fix the grant file."
  }
}

output "window" {
  description = "The normalized window: start (null = when applied) and end (exclusive)."
  value       = { start = var.starts_at, end = var.expires_at }
}
