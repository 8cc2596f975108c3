"""The tamper-evident audit trail.

    chain.py        one hash chain per inquiry: hashing, free text kept apart, appending
    verify.py       walks the chains and names every changed, removed, inserted or reordered row
    keys.py         the Ed25519 key that signs checkpoints
    checkpoints.py  signed checkpoints of every chain's head, written outside the database

`python starter.py audit verify|export|checkpoint` (commands/audit.py) is the operator's side.

Errors
    KeyConfigError (encryption.master): the signing key is missing or unusable; the message
                   names the setting, never the key.
    ValueError:    an event with a timestamp without a time zone.
    Database errors propagate unchanged; the store's activities turn them into StoreError.
"""
