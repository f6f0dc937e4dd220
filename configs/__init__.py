"""jaxstyle's config files (`get_config()` each), shipped in the package as jaxstyle.configs."""
