output "assignment_id" {
  description = "The id of the PIM active role assignment."
  value       = azurerm_pim_active_role_assignment.grant.id
}

output "window" {
  description = "The window PIM enforces: start (null = when applied) and end."
  value       = module.schedule.window
}
