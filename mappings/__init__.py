"""The mapping layer: admin-edited YAML that turns raw records into the canonical domain."""
