"""Chinese national-standard codes shared by ``identity`` and ``licenses``.

A leaf package (it imports nothing of govwallet), so both domain packages can use one
implementation of each standard without importing each other:

- GB/T 2260 administrative division codes (:mod:`gbcodes.regions`);
- GB 11643-1999 resident identity numbers (:mod:`gbcodes.id_number`).

Each domain package turns :class:`gbcodes.errors.CodeError` into its own error classes
(field names, HTTP status), so the rule lives here and the wording for its users there.
"""
