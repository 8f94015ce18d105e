"""Sans-I/O HTTP/1.1: bytes in, request events out; responses to bytes. No socket calls here."""
