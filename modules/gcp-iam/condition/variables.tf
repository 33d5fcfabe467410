variable "grant_id" {
  type        = string
  description = "The grant id (the grant file's name without .hcl), e.g. bob-gcp-prod-logs-viewer-20261124t1200."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{0,99}$", var.grant_id))
    error_message = "grant_id must match [a-z0-9][a-z0-9._-]{0,99} (lower-case letters, digits, '.', '_', '-'; at most 100 characters): rename the grant file."
  }
}

variable "principal" {
  type        = string
  description = "Who gets the role: an e-mail (becomes user:<email>), or an explicit user:, group: or serviceAccount: member, e.g. alice@example.com or group:sre@example.com."

  validation {
    condition     = can(regex("^((user|group|serviceAccount):)?[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", var.principal))
    error_message = "principal must be an e-mail address (alice@example.com), optionally prefixed with user:, group: or serviceAccount:. domain:, allUsers and allAuthenticatedUsers are not allowed: a grant is for one identity."
  }
}

variable "project" {
  type        = string
  description = "The GCP project id the role is granted on; catalog target key project."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a GCP project id (6 to 30 characters: lower-case letters, digits, hyphens; starts with a letter), e.g. acme-prod: fix the entitlement's target in catalog.yaml."
  }
}

variable "role" {
  type        = string
  description = "The IAM role, predefined (roles/...) or custom (projects/P/roles/R, organizations/O/roles/R); catalog target key role. Basic roles are refused."

  validation {
    condition     = !contains(["roles/owner", "roles/editor", "roles/viewer"], var.role)
    error_message = "Basic roles (roles/owner, roles/editor, roles/viewer) cannot carry IAM Conditions, so the grant could never expire on GCP's side: use a predefined or custom role, e.g. roles/logging.viewer."
  }

  validation {
    condition     = can(regex("^(roles/[A-Za-z0-9_.]+|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]+|organizations/[0-9]+/roles/[A-Za-z0-9_.]+)$", var.role))
    error_message = "role must be roles/NAME, projects/PROJECT/roles/NAME or organizations/ORG/roles/NAME, e.g. roles/logging.viewer: fix the entitlement's target in catalog.yaml."
  }
}

variable "starts_at" {
  type        = string
  default     = null
  nullable    = true
  description = "Start of the grant's window, RFC 3339 in UTC with Z, or null (then the condition has only the upper bound)."

  validation {
    condition     = var.starts_at == null || can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.starts_at))
    error_message = "starts_at must be null or RFC 3339 in UTC with a Z suffix, e.g. 2026-11-24T12:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}

variable "expires_at" {
  type        = string
  description = "End of the grant's window (exclusive), RFC 3339 in UTC with Z, e.g. 2026-11-25T00:00:00Z."

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.expires_at))
    error_message = "expires_at must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-25T00:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}
