"""Docker HEALTHCHECK for coscribe-server: GET /healthz on the configured port.

A script rather than a one-liner so that it follows COSCRIBE_PORT and switches to https
when the server serves TLS itself (COSCRIBE_TLS_CERT); the certificate is not verified
because the check talks to 127.0.0.1, not to the name on the certificate.
"""

import os
import ssl
import sys
import urllib.request

port = os.environ.get("COSCRIBE_PORT", "1234")
tls = bool(os.environ.get("COSCRIBE_TLS_CERT"))
url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/healthz"
context = ssl._create_unverified_context() if tls else None
try:
    with urllib.request.urlopen(url, timeout=4, context=context) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"healthcheck: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
