"""Field types: one class per type, one file per class, one registry (engine.plugins.field_types)."""
