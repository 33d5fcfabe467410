terraform {
  # Provider-free: the dispatcher only decides which grant goes to which module, with which window.
  required_version = ">= 1.10"
}
