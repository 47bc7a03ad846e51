"""The certificate record and its verification."""
