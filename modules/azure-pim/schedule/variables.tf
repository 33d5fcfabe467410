variable "grant_ids" {
  type        = list(string)
  description = "The ids of the grants this assignment serves (Azure keeps one PIM assignment per principal, role and scope, so overlapping grants share one), e.g. [\"alice-azure-prod-contributor-20261124t1200\"]."

  validation {
    condition     = length(var.grant_ids) >= 1 && alltrue([for id in var.grant_ids : can(regex("^[a-z0-9][a-z0-9._-]{0,99}$", id))])
    error_message = "grant_ids must list at least one grant id, each matching [a-z0-9][a-z0-9._-]{0,99}: rename the grant file."
  }
}

variable "principal" {
  type        = string
  description = "The Entra ID (Azure AD) object id of the user or group, a GUID such as 11111111-1111-4111-8111-111111111111 (not an e-mail: PIM assigns to object ids)."

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.principal))
    error_message = "principal must be the Entra object id (a GUID like 11111111-1111-4111-8111-111111111111), not an e-mail: look it up with `az ad user show --id alice@example.com --query id` and request for that id."
  }
}

variable "scope" {
  type        = string
  description = "The scope of the assignment: a subscription, resource group, resource or management group id; catalog target key scope."

  validation {
    condition     = can(regex("^(/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/.+)?|/providers/Microsoft\\.Management/managementGroups/[^/]+)$", var.scope))
    error_message = "scope must be an Azure scope id such as /subscriptions/00000000-0000-4000-8000-000000000000 (optionally /resourceGroups/...) or /providers/Microsoft.Management/managementGroups/NAME: fix the entitlement's target in catalog.yaml."
  }
}

variable "role_definition_name" {
  type        = string
  description = "The role's name, e.g. Contributor or Reader; catalog target key role_definition_name."

  validation {
    condition     = length(trimspace(var.role_definition_name)) > 0 && length(var.role_definition_name) <= 128
    error_message = "role_definition_name must be a role's display name (1 to 128 characters), e.g. Contributor: fix the entitlement's target in catalog.yaml."
  }
}

variable "starts_at" {
  type        = string
  default     = null
  nullable    = true
  description = "Start of the grant's window, RFC 3339 in UTC with Z, or null (then the schedule starts when applied)."

  validation {
    condition     = var.starts_at == null || can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.starts_at))
    error_message = "starts_at must be null or RFC 3339 in UTC with a Z suffix, e.g. 2026-11-24T12:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}

variable "expires_at" {
  type        = string
  description = "End of the grant's window, RFC 3339 in UTC with Z, e.g. 2026-11-25T00:00:00Z; PIM ends the assignment then."

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.expires_at))
    error_message = "expires_at must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-25T00:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}

variable "reason" {
  type        = string
  default     = ""
  description = "The grant's reason; becomes (part of) the PIM justification."

  validation {
    condition     = length(var.reason) <= 400
    error_message = "reason must be at most 400 characters: shorten it in the grant file."
  }
}

variable "ticket" {
  type        = string
  default     = null
  nullable    = true
  description = "Optional ticket number (e.g. INC-1234), recorded on the PIM request."

  validation {
    condition     = var.ticket == null || length(coalesce(var.ticket, "-")) <= 100
    error_message = "ticket must be at most 100 characters."
  }
}
