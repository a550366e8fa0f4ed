"""The way back for histories without down files: generate, prove and apply the SQL from a live schema to version N.

catalog (what a schema is), shadow (scratch databases), renames and enums (what pg-schema-diff cannot express),
schema_diff (the pg-schema-diff CLI), plan (the generator and its proof), apply (the run and its verification).
"""
