"""Who is acting: signed assertions for staff actions and department results.

identity.assertions   the format, its claims and the binding rules (pure; workflows use it)
identity.keys         the issuer's public keys, the development issuer, department signing
identity.verifier     signature and claims verification (the verify_actor activity uses it)
"""
