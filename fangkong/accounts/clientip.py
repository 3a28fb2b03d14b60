"""The client's own address, for login throttling (django-axes) and anything else that
limits by address.

Behind a reverse proxy every request comes from the proxy's address, so ten wrong
passwords from anyone would count against everyone. The real address is taken from the
header the proxy sets (settings.CLIENT_IP_HEADER, e.g. `X-Forwarded-For` or
`X-Real-IP`), but only when the request really comes from one of the trusted proxies
(settings.TRUSTED_PROXIES): a client talking to the server directly could write any
header it likes. In `X-Forwarded-For` each proxy appends the address it saw; the client
is the right-most address that is not itself a trusted proxy. Without a header set,
the address is REMOTE_ADDR.
"""

import ipaddress

from django.conf import settings


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address) -> bool:
    return address is not None and any(address in net for net in settings.TRUSTED_PROXIES)


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    header = settings.CLIENT_IP_HEADER
    if not header or not _trusted(_address(remote)):
        return remote
    meta_key = "HTTP_" + header.upper().replace("-", "_")
    hops = [h for h in request.META.get(meta_key, "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a proxy would not write this: trust nothing further left
        if not _trusted(address):
            return str(address)
    return remote
