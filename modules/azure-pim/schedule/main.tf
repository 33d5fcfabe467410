locals {
  # PIM's schedule: the assignment is active from start_date_time (null = when the request is made,
  # i.e. when applied) to expiration.end_date_time, after which Azure removes it by itself.
  schedule = {
    start_date_time = var.starts_at
    end_date_time   = var.expires_at
  }

  # Justification is shown in PIM's audit log; it names the grants so the log can be joined with
  # `jitctl audit`. Kept under 500 characters.
  ids           = sort(distinct(var.grant_ids))
  justification = substr("jitctl grant${length(local.ids) > 1 ? "s" : ""} ${join(", ", local.ids)}${var.reason == "" ? "" : ": ${var.reason}"}", 0, 500)

  ticket = var.ticket == null ? null : { number = var.ticket, system = "jitctl" }
}
