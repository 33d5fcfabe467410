variable "grant_id" {
  type        = string
  description = "The grant id (the grant file's name without .hcl), e.g. alice-aws-prod-readonly-20261124t1200."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{0,99}$", var.grant_id))
    error_message = "grant_id must match [a-z0-9][a-z0-9._-]{0,99} (lower-case letters, digits, '.', '_', '-'; at most 100 characters): rename the grant file."
  }
}

variable "principal" {
  type        = string
  description = "The SAML subject (NameID) the role is for, normally the user's e-mail, e.g. alice@example.com or o'brien@example.com. It must equal what the IdP sends as saml:sub; any printable text of 1 to 256 characters is carried exactly."

  validation {
    condition     = length(var.principal) >= 1 && length(var.principal) <= 256 && !can(regex("[\\x{00}-\\x{1F}\\x{7F}-\\x{9F}]", var.principal))
    error_message = "principal must be the SAML subject (e.g. alice@example.com): 1 to 256 characters without control characters."
  }
}

variable "account_id" {
  type        = string
  description = "The AWS account (12 digits, as a string) the role is created in; catalog target key account_id."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit AWS account id as a quoted string, e.g. \"123456789012\": fix the entitlement's target in catalog.yaml."
  }
}

variable "policy_arns" {
  type        = list(string)
  description = "ARNs of the managed policies the role gets; catalog target key policy_arns."

  validation {
    condition     = length(var.policy_arns) > 0 && length(var.policy_arns) <= 10
    error_message = "policy_arns must list 1 to 10 managed policy ARNs (the IAM default quota per role): fix the entitlement's target in catalog.yaml."
  }

  validation {
    condition     = alltrue([for arn in var.policy_arns : can(regex("^arn:aws(-[a-z]+)*:iam::(aws|[0-9]{12}):policy/[\\w+=,.@/-]+$", arn))])
    error_message = "Every policy_arns entry must be an IAM managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess or arn:aws:iam::123456789012:policy/MyPolicy: fix the entitlement's target in catalog.yaml."
  }
}

variable "saml_provider_arn" {
  type        = string
  description = "ARN of the IAM SAML identity provider that is trusted to assume the role; catalog target key saml_provider_arn."

  validation {
    condition     = can(regex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:saml-provider/[\\w+=,.@-]+$", var.saml_provider_arn))
    error_message = "saml_provider_arn must be an IAM SAML provider ARN such as arn:aws:iam::123456789012:saml-provider/acme-idp: add it to the entitlement's target in catalog.yaml."
  }
}

variable "starts_at" {
  type        = string
  default     = null
  nullable    = true
  description = "Start of the grant's window, RFC 3339 in UTC with Z (e.g. 2026-11-24T12:00:00Z), or null: the window starts when applied and the deny has no lower bound."

  validation {
    condition     = var.starts_at == null || can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.starts_at))
    error_message = "starts_at must be null or RFC 3339 in UTC with a Z suffix, e.g. 2026-11-24T12:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}

variable "expires_at" {
  type        = string
  description = "End of the grant's window (exclusive: the grant has expired at this instant), RFC 3339 in UTC with Z, e.g. 2026-11-25T00:00:00Z."

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.expires_at))
    error_message = "expires_at must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-25T00:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}

variable "role_path" {
  type        = string
  default     = "/jitctl/"
  description = "IAM path of the roles, so that policies and SCPs can single out jitctl's roles."

  validation {
    condition     = can(regex("^/([\\w+=,.@-]+/)*$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must begin and end with '/', e.g. /jitctl/."
  }
}

variable "role_name_prefix" {
  type        = string
  default     = "jit-"
  description = "Prefix of every role name; the rest is the grant id (hash-suffixed when the name would exceed 64 characters)."

  validation {
    condition     = can(regex("^[\\w+=,.@-]{0,20}$", var.role_name_prefix))
    error_message = "role_name_prefix must be at most 20 characters from [A-Za-z0-9_+=,.@-], e.g. jit-."
  }
}

variable "partition" {
  type        = string
  default     = "aws"
  description = "The AWS partition of the account: aws, aws-us-gov or aws-cn (the parent module passes the provider's aws_partition)."

  validation {
    condition     = contains(["aws", "aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"], var.partition)
    error_message = "partition must be an AWS partition id such as aws, aws-us-gov or aws-cn."
  }
}
