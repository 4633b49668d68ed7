"""Pure domain rules: data in, decisions out. No AWS, HTTP or clock calls here."""
